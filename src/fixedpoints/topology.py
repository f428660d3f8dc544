"""Counting fixed points by index: the idealised N-bit FlipFlop layout and a census of a found set.

The index of a fixed point x* of h ↦ F(h) is the number of eigenvalues of J = ∂F/∂x(x*) with
|λ| > 1 (its number of unstable directions; 0 for an attractor). A network that solves the N-bit
FlipFlop task ideally has one fixed point per face of the hypercube {−1, +1}^N: the 2^N vertices
are the attractors, and the centre of each k-dimensional face is a saddle of index k, so there
are C(N, k)·2^(N−k) points of index k and 3^N in all (Sussillo & Barak 2013).
"""

from __future__ import annotations

from math import comb

import numpy as np


def n_bit_index_counts(n_bits: int) -> np.ndarray:
    """Idealised count of index-k fixed points of an N-bit FlipFlop network, k = 0..N: C(N,k)·2^(N−k).

    The counts sum to 3^N (binomial theorem: Σ_k C(N,k)·2^(N−k)·1^k = 3^N).
    """
    if int(n_bits) != n_bits or n_bits < 1:
        raise ValueError(f"n_bits must be a positive integer, got {n_bits!r}")
    n = int(n_bits)
    return np.array([comb(n, k) * 2 ** (n - k) for k in range(n + 1)], dtype=np.int64)


def index_census(n_unstable, n_max: int | None = None) -> np.ndarray:
    """Count of fixed points of each index: ``counts[k] = #{i : n_unstable[i] == k}``, k = 0..n_max.

    ``n_max`` defaults to the largest index present (an empty set gives an empty array).
    """
    n_unstable = np.asarray(n_unstable, dtype=np.int64).reshape(-1)
    if np.any(n_unstable < 0):
        raise ValueError("n_unstable must be non-negative")
    if n_max is None:
        n_max = int(n_unstable.max()) if n_unstable.size else -1
    return np.bincount(n_unstable, minlength=n_max + 1)[: n_max + 1]


def census_text(n_unstable, n_bits: int | None = None) -> str:
    """One line such as ``index 0: 8, index 1: 12, index 2: 6, index 3: 1``; with ``n_bits`` each
    count is followed by the idealised one, e.g. ``index 1: 12/12``."""
    counts = index_census(n_unstable, None if n_bits is None else int(n_bits))
    if n_bits is None:
        return ", ".join(f"index {k}: {c}" for k, c in enumerate(counts)) or "none"
    ideal = n_bit_index_counts(n_bits)
    text = ", ".join(f"index {k}: {c}/{ideal[k]}" for k, c in enumerate(counts[: len(ideal)]))
    extra = int(np.sum(np.asarray(n_unstable) > n_bits))
    return text + (f", index > {n_bits}: {extra}" if extra else "")
