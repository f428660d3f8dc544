"""The result of a continuation, without the solver: branches of fixed points along input paths, the
bifurcations located on them, the file ``continuation.h5`` and the runs-table columns.

`fixedpoints.continuation` computes a `Continuation` (JAX); this module holds it, writes and reads it,
and summarises it, with numpy and h5py only (so that drawing and summarising a sweep start no JAX).
Symbols as in `fixedpoints.continuation`: n start points of state size d, m inputs, o outputs, D
directions, B = D·n branches, N points on all branches together, q bifurcations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from .io import atomic_h5, attr_text, content_attrs, read_array, read_attr, read_h5, write_array

CONTINUATION_SCHEMA = "fixedpoints/continuation"

STATUSES = ("running", "amplitude", "returned", "step_budget", "left_box", "step_too_small", "no_start")
"""Why a branch ended (``running`` never appears in a result): it reached s = s_max, returned to
s = 0, used its ``max_steps``, left the state box, needed a step below ``step_min``, or its start did
not converge at s = 0."""
RUNNING, AMPLITUDE, RETURNED, STEP_BUDGET, LEFT_BOX, STEP_TOO_SMALL, NO_START = range(len(STATUSES))
KINDS = ("fold", "flip", "neimark_sacker")
"""Kinds of bifurcation located on a branch."""

COLUMNS = ("fold_amplitude_min", "fold_amplitude_max", "flips_cleanly")
"""The runs-table columns of a run's continuation (see `flip_columns`)."""


_BRANCH_POINT_FIELDS = ("s", "x", "tangent_s", "eigenvalues", "is_stable", "n_unstable", "readout")


@dataclasses.dataclass
class Continuation:
    """The branches and bifurcations of a continuation (see the module docstring for the symbols).

    * directions: ``vectors`` [D, m] (the a of u = s·a), ``channel`` [D] (k for ±e_k, else −1),
      ``sign`` [D] (±1, else 0);
    * the u = 0 fixed points the branches start from, polished: ``start_x`` [n, d],
      ``start_eigenvalues`` [n, d], ``start_is_stable`` [n], ``start_n_unstable`` [n],
      ``start_readout`` [n, o] (None without a readout);
    * per branch: ``branch_start`` [B] (index of its u = 0 fixed point), ``branch_direction`` [B],
      ``branch_status`` [B] (a name of `STATUSES`), ``branch_end`` [B] (the u = 0 fixed point a
      ``returned`` branch ends on, −1 otherwise or when none is within ``match_tol``),
      ``offsets`` [B+1]: the points of branch b are rows offsets[b]:offsets[b+1] of
    * ``s`` [N], ``x`` [N, d], ``tangent_s`` [N] (the s-component of the unit tangent),
      ``eigenvalues`` [N, d] of J (sorted by |λ| descending), ``is_stable`` [N], ``n_unstable`` [N],
      ``readout`` [N, o] (None without a readout);
    * ``bifurcations``: a dict of arrays over the q bifurcations, ordered by branch and arclength:
      ``branch``, ``point`` (it lies between the points ``point`` and ``point + 1`` of the arrays above),
      ``kind`` (a name of `KINDS`), ``s``, ``x`` [q, d], ``eigenvalues`` [q, d],
      ``readout`` [q, o] (or None), ``fixed_point_before``, ``fixed_point_after``, ``creates_attractor``;
    * ``attrs``: the settings (``amplitude`` …), ``wall_s`` and what the caller adds.
    """

    vectors: np.ndarray
    channel: np.ndarray
    sign: np.ndarray
    start_x: np.ndarray
    start_eigenvalues: np.ndarray
    start_is_stable: np.ndarray
    start_n_unstable: np.ndarray
    start_readout: np.ndarray | None
    branch_start: np.ndarray
    branch_direction: np.ndarray
    branch_status: np.ndarray
    branch_end: np.ndarray
    offsets: np.ndarray
    s: np.ndarray
    x: np.ndarray
    tangent_s: np.ndarray
    eigenvalues: np.ndarray
    is_stable: np.ndarray
    n_unstable: np.ndarray
    readout: np.ndarray | None
    bifurcations: dict
    attrs: dict

    @property
    def n_branches(self) -> int:
        return int(len(self.branch_start))

    @property
    def amplitude(self) -> float:
        return float(self.attrs["amplitude"])

    def branch(self, b: int) -> dict:
        """The points of branch ``b``: ``{s, x, tangent_s, eigenvalues, is_stable, n_unstable, readout}``
        (readout None without one) plus ``start``, ``direction``, ``status``, ``end``."""
        rows = slice(int(self.offsets[b]), int(self.offsets[b + 1]))
        out = {name: None if getattr(self, name) is None else getattr(self, name)[rows]
               for name in _BRANCH_POINT_FIELDS}
        out.update(start=int(self.branch_start[b]), direction=int(self.branch_direction[b]),
                   status=str(self.branch_status[b]), end=int(self.branch_end[b]))
        return out

    def save(self, path, attrs: Mapping | None = None) -> None:
        """Write ``continuation.h5`` atomically (format: docs/continuation.md); ``attrs`` are added to the root."""
        save_continuation(self, path, attrs)


def removal_amplitudes(cont: Continuation) -> np.ndarray:
    """r [n, D]: the s at which the fixed point i stops being a stable fixed point along direction j —
    the first bifurcation on its branch; +inf when its branch reaches s = amplitude without one, NaN when
    the branch ended otherwise before any (or the point is not stable at u = 0)."""
    n, D = len(cont.start_x), len(cont.vectors)
    r = np.full((n, D), np.nan)
    for b in range(cont.n_branches):
        i, j = cont.branch_start[b], cont.branch_direction[b]
        if not cont.start_is_stable[i]:
            continue
        on_branch = np.flatnonzero(cont.bifurcations["branch"] == b)
        if len(on_branch):
            r[i, j] = cont.bifurcations["s"][on_branch[0]]
        elif cont.branch_status[b] == "amplitude":
            r[i, j] = np.inf
    return r


def start_bits(cont: Continuation) -> np.ndarray:
    """The bit of every u = 0 fixed point on every channel: sign of its readout [n, o] (+1, −1, or 0)."""
    if cont.start_readout is None:
        raise ValueError("the continuation has no readout, so its fixed points have no bits")
    return np.sign(cont.start_readout).astype(np.int64)


def flip_columns(cont: Continuation) -> dict:
    """The runs-table columns of a continuation along ±e_k (docs/continuation.md):

    * ``fold_amplitude_min``: the smallest removal amplitude (`removal_amplitudes`) of an attractor of
      the opposite bit, over every channel k and sign σ — an attractor of the opposite bit of direction
      σe_k is one whose readout of bit k has the sign −σ;
    * ``fold_amplitude_max``: the largest of them (the pulse amplitude that removes every such attractor
      of every channel and sign; +inf when one survives up to s = amplitude);
      both NaN when there is none or one is unknown (its branch stopped before s = amplitude);
    * ``flips_cleanly``: for every channel and both signs, both bits have attractors, every attractor of
      the opposite bit is removed before s = amplitude, every attractor of the pulse's bit stays stable up
      to s = amplitude (its branch reaches it with no bifurcation), and no bifurcation of that direction
      creates an attractor. None when there was nothing to follow (no fixed points).
    """
    if len(cont.start_x) == 0:
        return {"fold_amplitude_min": math.nan, "fold_amplitude_max": math.nan, "flips_cleanly": None}
    bits = start_bits(cont)
    r = removal_amplitudes(cont)
    stable = cont.start_is_stable
    opposite, clean = [], True
    for j in np.flatnonzero(cont.sign != 0):
        k, sigma = cont.channel[j], cont.sign[j]
        if k >= bits.shape[1]:
            raise ValueError(f"direction {j} is channel {k}, but the readout has {bits.shape[1]} outputs")
        against = stable & (bits[:, k] == -sigma)
        along = stable & (bits[:, k] == sigma)
        opposite.extend(r[against, j])
        on_direction = np.isin(cont.bifurcations["branch"], np.flatnonzero(cont.branch_direction == j))
        clean &= bool(np.any(against) and np.any(along) and np.all(r[against, j] < cont.amplitude)
                      and np.all(r[along, j] == np.inf)
                      and not np.any(cont.bifurcations["creates_attractor"][on_direction]))
    opposite = np.asarray(opposite, np.float64)
    unknown = len(opposite) == 0 or bool(np.any(np.isnan(opposite)))
    return {"fold_amplitude_min": math.nan if unknown else float(np.min(opposite)),
            "fold_amplitude_max": math.nan if unknown else float(np.max(opposite)),
            "flips_cleanly": clean}


def continuation_columns(path) -> dict:
    """`flip_columns` of the run whose ``continuation.h5`` is ``path`` (all missing for a skipped run)."""
    cont = load_continuation(path)
    if "skipped_reason" in cont.attrs:
        return {"fold_amplitude_min": math.nan, "fold_amplitude_max": math.nan, "flips_cleanly": None}
    return flip_columns(cont)


# -- continuation.h5 --------------------------------------------------------------------------------

def save_continuation(cont: Continuation, path, attrs: Mapping | None = None) -> None:
    """Write ``continuation.h5`` atomically (schema ``fixedpoints/continuation``; docs/continuation.md)."""
    with atomic_h5(path, CONTINUATION_SCHEMA) as f:
        for key, value in {**cont.attrs, **dict(attrs or {})}.items():
            f.attrs[key] = value
        group = f.create_group("directions")
        write_array(group, "vectors", cont.vectors, np.float64)
        write_array(group, "channel", cont.channel, np.int64)
        write_array(group, "sign", cont.sign, np.int64)
        group = f.create_group("start")
        write_array(group, "x", cont.start_x, np.float64)
        write_array(group, "eigenvalues", cont.start_eigenvalues, np.complex128)
        write_array(group, "is_stable", cont.start_is_stable, bool)
        write_array(group, "n_unstable", cont.start_n_unstable, np.int64)
        if cont.start_readout is not None:
            write_array(group, "readout", cont.start_readout, np.float64)
        group = f.create_group("branches")
        for name in ("start", "direction", "end"):
            write_array(group, name, getattr(cont, f"branch_{name}"), np.int64)
        write_array(group, "status", np.char.encode(cont.branch_status.astype(str), "ascii"), "S16")
        write_array(group, "offsets", cont.offsets, np.int64)
        for name, dtype in (("s", np.float64), ("x", np.float64), ("tangent_s", np.float64),
                            ("eigenvalues", np.complex128), ("is_stable", bool), ("n_unstable", np.int64),
                            ("readout", np.float64)):
            if getattr(cont, name) is not None:
                write_array(group, name, getattr(cont, name), dtype)
        group = f.create_group("bifurcations")
        bif = cont.bifurcations
        for name, dtype in (("branch", np.int64), ("point", np.int64), ("kind", "S16"), ("s", np.float64),
                            ("x", np.float64),
                            ("eigenvalues", np.complex128), ("readout", np.float64), ("fixed_point_before", np.int64),
                            ("fixed_point_after", np.int64), ("creates_attractor", bool)):
            if bif[name] is not None:
                value = np.char.encode(bif[name].astype(str), "ascii") if name == "kind" else bif[name]
                write_array(group, name, value, dtype)


def _names(values: np.ndarray, allowed: tuple, where: str) -> np.ndarray:
    names = np.array([attr_text(v) for v in values.reshape(-1)], dtype="<U16")
    bad = sorted(set(names) - set(allowed))
    if bad:
        raise ValueError(f"dataset {where} holds {bad}, expected some of {list(allowed)}")
    return names


def load_continuation(path) -> Continuation:
    """Read ``continuation.h5`` → `Continuation`; a missing, malformed or inconsistent file raises
    `fixedpoints.io.FileFormatError` naming it and what was wrong."""
    with read_h5(path, CONTINUATION_SCHEMA) as f:
        for name in ("directions", "start", "branches", "bifurcations"):
            if name not in f:
                raise KeyError(f"missing group /{name}")
        attrs = content_attrs(f.attrs)
        attrs["amplitude"] = read_attr(f, "amplitude", float)
        g = f["directions"]
        vectors = read_array(g, "vectors", ndim=2, dtype=np.float64, finite=True)
        D, m = vectors.shape
        channel = read_array(g, "channel", ndim=1, dtype=np.int64)
        sign = read_array(g, "sign", ndim=1, dtype=np.int64)
        g = f["start"]
        start_x = read_array(g, "x", ndim=2, dtype=np.float64)
        n, d = start_x.shape
        start = {"eigenvalues": read_array(g, "eigenvalues", ndim=2, dtype=np.complex128),
                 "is_stable": read_array(g, "is_stable", ndim=1, dtype=bool),
                 "n_unstable": read_array(g, "n_unstable", ndim=1, dtype=np.int64),
                 "readout": read_array(g, "readout", ndim=2, dtype=np.float64) if "readout" in g else None}
        g = f["branches"]
        per_branch = {name: read_array(g, name, ndim=1, dtype=np.int64) for name in ("start", "direction", "end")}
        status = _names(read_array(g, "status", ndim=1), STATUSES, "/branches/status")
        offsets = read_array(g, "offsets", ndim=1, dtype=np.int64)
        points = {name: read_array(g, name, ndim=ndim, dtype=dtype) if name in g or name != "readout" else None
                  for name, ndim, dtype in (("s", 1, np.float64), ("x", 2, np.float64), ("tangent_s", 1, np.float64),
                                            ("eigenvalues", 2, np.complex128), ("is_stable", 1, bool),
                                            ("n_unstable", 1, np.int64), ("readout", 2, np.float64))}
        g = f["bifurcations"]
        bif = {name: read_array(g, name, ndim=ndim, dtype=dtype) if name in g or name != "readout" else None
               for name, ndim, dtype in (("branch", 1, np.int64), ("point", 1, np.int64), ("kind", 1, None),
                                         ("s", 1, np.float64),
                                         ("x", 2, np.float64), ("eigenvalues", 2, np.complex128),
                                         ("readout", 2, np.float64), ("fixed_point_before", 1, np.int64),
                                         ("fixed_point_after", 1, np.int64), ("creates_attractor", 1, bool))}
        bif["kind"] = _names(bif["kind"], KINDS, "/bifurcations/kind")
        B, N, q = len(per_branch["start"]), len(points["s"]), len(bif["branch"])
        expected = {"/directions/channel": (channel.shape, (D,)), "/directions/sign": (sign.shape, (D,)),
                    "/start/eigenvalues": (start["eigenvalues"].shape, (n, d)),
                    "/start/is_stable": (start["is_stable"].shape, (n,)),
                    "/start/n_unstable": (start["n_unstable"].shape, (n,)),
                    "/branches/direction": (per_branch["direction"].shape, (B,)),
                    "/branches/end": (per_branch["end"].shape, (B,)), "/branches/status": (status.shape, (B,)),
                    "/branches/offsets": (offsets.shape, (B + 1,))}
        expected.update({f"/branches/{name}": (points[name].shape, (N,) + (d,) * (points[name].ndim - 1))
                         for name in ("x", "tangent_s", "eigenvalues", "is_stable", "n_unstable")})
        expected.update({f"/bifurcations/{name}": (bif[name].shape, (q,) + (d,) * (bif[name].ndim - 1))
                         for name in ("point", "kind", "s", "x", "eigenvalues", "fixed_point_before",
                                      "fixed_point_after", "creates_attractor")})
        o = start["readout"].shape[1] if start["readout"] is not None else None
        for where, value, rows in (("/start/readout", start["readout"], n), ("/branches/readout", points["readout"], N),
                                   ("/bifurcations/readout", bif["readout"], q)):
            if (value is None) != (o is None):
                raise ValueError(f"dataset {where}: the readout is stored in some groups but not in others")
            if value is not None:
                expected[where] = (value.shape, (rows, o))
        for where, (found, wanted) in expected.items():
            if found != wanted:
                raise ValueError(f"dataset {where} has shape {found}, expected {wanted}")
        if offsets[0] != 0 or offsets[-1] != N or np.any(np.diff(offsets) < 0):
            raise ValueError(f"dataset /branches/offsets must rise from 0 to {N} (the number of points)")
        for where, value, size in (("/branches/start", per_branch["start"], n),
                                   ("/branches/direction", per_branch["direction"], D),
                                   ("/bifurcations/branch", bif["branch"], B),
                                   ("/bifurcations/point", bif["point"], max(N - 1, 0))):
            if np.any((value < 0) | (value >= size)):
                raise ValueError(f"dataset {where} has entries outside [0, {size})")
    return Continuation(vectors=vectors, channel=channel, sign=sign, start_x=start_x,
                        start_eigenvalues=start["eigenvalues"], start_is_stable=start["is_stable"],
                        start_n_unstable=start["n_unstable"], start_readout=start["readout"],
                        branch_start=per_branch["start"], branch_direction=per_branch["direction"],
                        branch_status=status, branch_end=per_branch["end"], offsets=offsets, bifurcations=bif,
                        attrs=attrs, **points)
