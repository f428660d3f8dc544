"""Polishing candidates into roots of the fixed-point equation, and testing what they are.

Works on the reduced equation R(y, u) = 0 of `fixedpoints.equations` (for gated cells the factor
that saturation can make tiny is divided out; for a user's map R = F − x):

* damped Newton  y ← y − α (∂R/∂y)⁻¹ R(y),  α ∈ {1, ½, …, 2⁻⁹} the first that lowers ‖R‖;
* isolation: σ_min(∂R/∂y), the smallest singular value of the reduced Jacobian — small means the
  root is (nearly) degenerate, e.g. part of a continuum. For a user's map, whose equation is not
  reduced, σ_min(J − I) is measured relative to the map's own scale: the median of ‖J − I‖₂ over the
  states the trajectories visit (so a map that is uniformly slow, e.g. a gate saturated everywhere,
  still has isolated roots, while a root that is degenerate compared with the rest of the map is not);
* deflation (`Deflated`): Newton on R(y)·Π_j(1/‖y − r_j‖² + 1) from next to a known root r finds a
  distinct root nearby, if there is one (two roots of a near-fold pair lie close together);
* same root: two converged points y_a, y_b are one root only when ‖y_a − y_b‖ ≤ r_a + r_b with
  r = 10·‖R(y)‖/σ_min + 100·ε·(1 + ‖y‖∞) (ε the dtype's machine epsilon) — the distance to the
  root that Newton's linearisation allows, plus the dtype's floor; never merely a fixed distance.

Every function is written for one point and batched with ``vmap``; shapes ``y`` [n, k], ``x`` [n, d],
``u`` [n, m].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .fixed_points import single_thread_blas
from .optimization import SMALL_STATE, bucket

MEMORY_BUDGET = 2 ** 28
"""Bytes of Jacobians held at once by Newton and the Jacobian passes (chunks are sized to it)."""


@partial(jax.jit, static_argnums=(0, 1))
def newton(residual: Callable, n_steps: int, params, y_nxk, u_nxm):
    """Damped Newton on R(y) = 0: y ← y − α (∂R/∂y)⁻¹ R, α ∈ {1, ½, …, 2⁻⁹} the first that lowers ‖R‖
    by the factor 1 − 10⁻⁴α. A point stays where no α helps or the step is not finite; the others go
    on (also below any tolerance, so they reach the precision floor of the dtype) for at most
    ``n_steps`` steps. Returns (y [n, k], ‖R(y)‖ [n])."""
    alphas = 0.5 ** jnp.arange(10, dtype=y_nxk.dtype)

    def one(y, u):
        r = residual(params, y, u)
        J = jax.jacfwd(residual, argnums=1)(params, y, u)
        delta = jnp.linalg.solve(J, -r)
        norm = jnp.linalg.norm(r)
        trial = y[None, :] + alphas[:, None] * delta[None, :]
        trial_norm = jnp.linalg.norm(jax.vmap(residual, (None, 0, None))(params, trial, u), axis=1)
        better = (trial_norm < (1.0 - 1e-4 * alphas) * norm) & jnp.all(jnp.isfinite(delta))
        k = jnp.argmax(better)
        ok = jnp.any(better)
        return jnp.where(ok, trial[k], y), jnp.where(ok, trial_norm[k], norm)

    batched = jax.vmap(one)

    def cond(carry):
        i, _, _, moved = carry
        return (i < n_steps) & jnp.any(moved)

    def body(carry):
        i, y, norm, _ = carry
        y_new, norm_new = batched(y, u_nxm)
        return i + 1, y_new, norm_new, norm_new < norm

    norm0 = jnp.linalg.norm(jax.vmap(residual, (None, 0, 0))(params, y_nxk, u_nxm), axis=1)
    _, y, norm, _ = jax.lax.while_loop(cond, body, (0, y_nxk, norm0, jnp.ones(y_nxk.shape[0], bool)))
    return y, norm


@dataclasses.dataclass(frozen=True)     # hashable, for jit
class Deflated:
    """The deflated residual G(y) = R(y, u) · Π_j (1/‖y − r_j‖² + 1) of Farrell, Birkisson & Funke (2015),
    "Deflation techniques for finding distinct solutions of nonlinear PDEs": G has the roots of R except
    the known roots r_j, so Newton on G started next to a known root goes to another one. Called as
    G(params, y [k], (u [m], known [j, k])); rows of ``known`` far away (1e6) deflate nothing."""

    residual: Callable

    def __call__(self, params, y, u_and_known):
        u, known = u_and_known
        factor = jnp.prod(1.0 / jnp.sum((y[None, :] - known) ** 2, axis=1) + 1.0)
        return self.residual(params, y, u) * factor


@partial(jax.jit, static_argnums=0)
def residual_norms(residual: Callable, params, y_nxk, u_nxm):
    """‖R(y, u)‖ [n] at every point."""
    return jnp.linalg.norm(jax.vmap(residual, (None, 0, 0))(params, y_nxk, u_nxm), axis=1)


@partial(jax.jit, static_argnums=0)
def reduced_jacobians(residual: Callable, params, y_nxk, u_nxm):
    """∂R/∂y [n, k, k] at every point (forward mode)."""
    return jax.vmap(jax.jacfwd(residual, argnums=1), (None, 0, 0))(params, y_nxk, u_nxm)


@partial(jax.jit, static_argnums=0)
def lift_states(lift: Callable, params, y_nxk, u_nxm):
    """The full states x = lift(y, u) [n, d]."""
    return jax.vmap(lift, (None, 0, 0))(params, y_nxk, u_nxm)


@partial(jax.jit, static_argnums=0)
def full_jacobians(step: Callable, params, x_nxd, u_nxm):
    """(∂F/∂x [n, d, d], ∂F/∂u [n, d, m]) of the full map at every state, by forward-mode differentiation."""
    return jax.vmap(jax.jacfwd(step, argnums=(1, 2)), (None, 0, 0))(params, x_nxd, u_nxm)


def chunked(fn: Callable, n: int, chunk: int, *arrays):
    """Apply ``fn`` to row-chunks of ``arrays`` (the last chunk padded, so one compilation) and join
    the (pytree of) results as numpy arrays."""
    chunk = max(1, min(chunk, bucket(n, arrays[0].shape[1])))
    outs = []
    for start in range(0, n, chunk):
        part = [a[start:start + chunk] for a in arrays]
        size = part[0].shape[0]
        if size < chunk:
            part = [np.concatenate([p, np.repeat(p[:1], chunk - size, axis=0)]) for p in part]
        out = fn(*part)
        outs.append(jax.tree_util.tree_map(lambda a, size=size: np.asarray(a)[:size], out))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def chunk_rows(d: int) -> int:
    """Rows per chunk of the polishing stages: so that the Jacobians of a chunk ([rows, d, d] float64, a few
    copies) fit the budget, and for d ≤ `SMALL_STATE` (64) the smallest `bucket`, 256 rows, whatever the number of rows.

    These stages call the same functions with 7 to 1024 rows, and `chunked` pads each call to a whole
    chunk: with one chunk size each function compiles once per search (with the power of two above each
    call's rows, a cold search of a 3-bit LSTM compiled Newton three times and the reduced Jacobians and
    residuals twice: about 1 s of its 4.9 s of XLA).
    """
    return bucket(1, d) if d <= SMALL_STATE else max(1, MEMORY_BUDGET // (16 * d * d))


def singular_values(jacobians_nxkxk: np.ndarray) -> np.ndarray:
    """The singular values [n, k] of each Jacobian, descending; zeros for a Jacobian that is not finite
    (it overflowed: such a point is not an isolated root that can be trusted)."""
    J = np.asarray(jacobians_nxkxk, np.float64)
    if J.shape[0] == 0:
        return np.zeros((0, J.shape[-1] if J.ndim == 3 else 0))
    finite = np.all(np.isfinite(J), axis=(1, 2))
    out = np.zeros(J.shape[:2])
    with single_thread_blas():
        out[finite] = np.linalg.svd(J[finite], compute_uv=False)
    return out


def root_radius(residual_norm: np.ndarray, sigma_min: np.ndarray, y_nxk: np.ndarray, dtype) -> np.ndarray:
    """r [n] = 10·‖R‖/σ_min + 100·ε·(1 + ‖y‖∞): how far a converged point may be from its root."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    floor = 100.0 * eps * (1.0 + np.max(np.abs(y_nxk), axis=1, initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = np.where(sigma_min > 0, 10.0 * residual_norm / sigma_min, np.inf)
    return np.minimum(linear, np.inf) + floor
