"""Where the unstable directions of each saddle lead: the branches of its unstable manifold.

A saddle x* of the map x ↦ F(x, u) has index k ≥ 1: k eigenvalues of J = ∂F/∂x (x*) with |λ| > 1
(sorted by |λ| descending, as `FixedPoints` stores them). Each unstable eigen-index j < k gives a
unit direction v̂_j — the eigenvector for a real λ_j; Re v for a complex λ_j with Im λ_j > 0 and Im v
for its conjugate, so a complex pair gives two directions spanning its invariant plane — and each
direction two branches, started at x₀ = x* ± ε·v̂_j (ε = ``step_size``) and iterated with the full map
x_{t+1} = F(x_t, u) at the same constant input u, in float64. Close to x* the branch follows the
linearisation, so it leaves along v̂_j (the error of starting on the tangent is O(ε²)).

A branch stops at step t when the state x_t is (nearly) at rest, ‖F(x_t) − x_t‖ < ``tol_speed``:

* within ``tol_near`` of a fixed point other than its own saddle: it *ends at* that fixed point,
  kind ``attractor`` (a stable point) or ``saddle`` (it came in along the saddle's stable manifold);
* with no fixed point within ``tol_near`` (its own saddle included): it ends at a *slow point* —
  a ghost of a saddle-node or a point of a continuous attractor (kind ``slow``). Its node is the
  nearest of the run's slow candidates (``slow_xstar``, the finder's ``slow_fps``) within
  ``tol_near``, else a new slow point; slow ends within ``tol_near`` of each other are one point;
* at ``max_steps`` without either, or when F(x_t) is not finite: kind ``none`` (no end).

On its way each branch records the *first* fixed point other than its own saddle that it comes
within ``tol_near`` of (an index-k saddle's branch often passes a lower-index saddle before it
reaches an attractor) and a path decimated to at most ``max_path_points`` points, evenly spaced in
steps (stride doubled whenever the buffer fills), always holding x₀ and the end state.

All branches of a run are iterated together, one compiled ``lax.while_loop`` over the batch (run in
chunks so that progress can be printed), in float64 whatever the dtype of the parameters.
"""

from __future__ import annotations

import dataclasses
import sys
from functools import partial
from typing import NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .fixed_points import cluster_labels
from .models import FAST_COMPILE
from .settings import from_mapping, setting, validate
from .topology import ATTRACTOR, END_KINDS, NO_END, SADDLE, SLOW, Branches  # noqa: F401 (public here too)

@dataclasses.dataclass(kw_only=True, frozen=True)
class ConnectionSettings:
    """The settings of `trace_branches` (in the sweep, the config section ``topology``)."""

    step_size: float = setting(1e-3, "distance of a branch's first point from its saddle, along the unstable "
                                     "direction", gt=0)
    max_steps: int = setting(10000, "map applications at most per branch (then the branch has no end)", ge=1)
    tol_near: float = setting(0.05, "distance at which a branch is near a fixed point or slow candidate", gt=0)
    tol_speed: float = setting(1e-7, "a branch stops where the speed ||F(x) - x|| is below this", gt=0)
    max_path_points: int = setting(200, "points kept of each branch's path (decimated evenly in steps)", ge=3)
    chunk_steps: int = setting(1000, "steps between progress lines", ge=1)
    verbose: bool = setting(False, "progress lines on stderr")

    def __post_init__(self):
        validate(self)


def branch_directions(eigval_nxd, eigvec_nxdxd, n_unstable_n) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The starting directions of every branch: (saddle [b], eig_index [b], sign [b], direction [b, d]).

    For each point i and eigen-index j < n_unstable[i] (eigenvalues sorted by |λ| descending): v̂ =
    the eigenvector for real λ, Re v for Im λ > 0, Im v for Im λ < 0, normalised; sign +1 then −1.
    """
    eigval, eigvec = np.asarray(eigval_nxd), np.asarray(eigvec_nxdxd)
    n_unstable = np.asarray(n_unstable_n, np.int64)
    d = eigvec.shape[1] if eigvec.ndim == 3 else 0
    point, index = np.nonzero(np.arange(d)[None, :] < n_unstable[:, None])      # row-major: by point, then j
    vectors = eigvec[point, :, index]                                            # [k, d]
    lam = eigval[point, index]
    vectors = np.where((np.imag(lam) < 0)[:, None], np.imag(vectors), np.real(vectors)).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("an unstable eigenvector is zero; the eigen-decomposition is broken")
    vectors = vectors / norms
    saddle, eig_index = np.repeat(point, 2), np.repeat(index, 2)
    sign = np.tile(np.array([1, -1], np.int64), len(point))
    return saddle, eig_index, sign, np.repeat(vectors, 2, axis=0)


class _LoopState(NamedTuple):
    t: jax.Array            # [] steps taken by the running branches
    x: jax.Array            # [b, d]
    active: jax.Array       # [b]
    end_kind: jax.Array     # [b]
    end_node: jax.Array     # [b] (fixed-point row; slow ends are numbered afterwards)
    steps: jax.Array        # [b]
    first_node: jax.Array   # [b]
    first_step: jax.Array   # [b]
    path: jax.Array         # [b, p, d]
    count: jax.Array        # [b] rows of path written
    stride: jax.Array       # [b] steps between recorded points


def _record(state: _LoopState, mask: jax.Array) -> _LoopState:
    """Write x into the next path row of the branches in ``mask``."""
    rows = jnp.arange(state.x.shape[0])
    slot = jnp.minimum(state.count, state.path.shape[1] - 1)
    current = state.path[rows, slot]
    path = state.path.at[rows, slot].set(jnp.where(mask[:, None], state.x, current))
    return state._replace(path=path, count=state.count + mask)


def _decimate(state: _LoopState, capacity: int) -> _LoopState:
    """Running branches whose path holds ``capacity`` (even) rows keep every other row and double their stride."""
    full = state.active & (state.count >= capacity)

    def halve(path):
        kept = path[:, 0:capacity:2]
        rest = jnp.full((path.shape[0], path.shape[1] - capacity // 2, path.shape[2]), jnp.nan, path.dtype)
        return jnp.where(full[:, None, None], jnp.concatenate([kept, rest], axis=1), path)

    path = jax.lax.cond(jnp.any(full), halve, lambda p: p, state.path)
    return state._replace(path=path, count=jnp.where(full, capacity // 2, state.count),
                          stride=jnp.where(full, 2 * state.stride, state.stride))


@partial(jax.jit, static_argnums=0, compiler_options=FAST_COMPILE)
def _run_chunk(step: Callable, params, u_m, xstar_nxd, stable_n, saddle_b, tol_near, tol_speed, state: _LoopState,
               t_end) -> _LoopState:
    """Iterate the running branches until every one has stopped or ``t == t_end``; see the module docstring."""
    n = xstar_nxd.shape[0]
    capacity = 2 * ((state.path.shape[1] - 1) // 2)     # rows used while running; the end always fits after
    own_bxn = jnp.arange(n)[None, :] == saddle_b[:, None]
    F = jax.vmap(step, (None, 0, None))

    def cond(st):
        return (st.t < t_end) & jnp.any(st.active)

    def body(st):
        x_next = F(params, st.x, u_m)
        speed = jnp.linalg.norm(x_next - st.x, axis=1)
        dist_bxn = jnp.linalg.norm(st.x[:, None, :] - xstar_nxd[None, :, :], axis=2)
        near_own = jnp.any(own_bxn & (dist_bxn < tol_near), axis=1)
        dist_other = jnp.where(own_bxn, jnp.inf, dist_bxn)
        nearest = jnp.argmin(dist_other, axis=1)
        near_other = jnp.min(dist_other, axis=1) < tol_near
        meets = st.active & (st.first_node < 0) & near_other
        at_rest = st.active & (speed < tol_speed)
        at_point = at_rest & near_other
        at_slow = at_rest & ~near_other & ~near_own
        diverged = st.active & ~jnp.all(jnp.isfinite(x_next), axis=1)
        ended = at_point | at_slow | diverged
        end_kind = jnp.where(at_point, jnp.where(stable_n[nearest], ATTRACTOR, SADDLE),
                             jnp.where(at_slow, SLOW, st.end_kind))
        st = st._replace(first_node=jnp.where(meets, nearest, st.first_node),
                         first_step=jnp.where(meets, st.t, st.first_step), end_kind=end_kind,
                         end_node=jnp.where(at_point, nearest, st.end_node),
                         steps=jnp.where(ended, st.t, st.steps))
        st = _record(st, st.active & ((st.t % st.stride == 0) | ended))
        active = st.active & ~ended
        st = _decimate(st._replace(active=active), capacity)
        return st._replace(x=jnp.where(active[:, None], x_next, st.x), t=st.t + 1)

    return jax.lax.while_loop(cond, body, state)


@partial(jax.jit, compiler_options=FAST_COMPILE)
def _finish(state: _LoopState) -> _LoopState:
    """Branches still running at the step budget end there (kind none), their last state recorded."""
    running = state.active
    state = _record(state, running)
    return state._replace(active=jnp.zeros_like(running), end_kind=jnp.where(running, NO_END, state.end_kind),
                          steps=jnp.where(running, state.t, state.steps))


def _initial_state(x0_bxd: np.ndarray, n_path: int) -> _LoopState:
    """The loop state before the first step (numpy arrays, put on the device as they are: no program compiles)."""
    b, d = x0_bxd.shape
    minus_one = np.full(b, -1, np.int64)
    state = _LoopState(t=np.int64(0), x=np.asarray(x0_bxd, np.float64), active=np.ones(b, bool),
                       end_kind=np.full(b, NO_END, np.int64), end_node=minus_one, steps=minus_one,
                       first_node=minus_one, first_step=minus_one, path=np.full((b, n_path, d), np.nan),
                       count=np.zeros(b, np.int64), stride=np.ones(b, np.int64))
    return jax.device_put(state)


def _slow_nodes(end_state_bxd: np.ndarray, is_slow_b: np.ndarray, slow_xstar_sxd: np.ndarray, tol_near: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the slow ends: (slow point of each branch [b] (−1: not slow), positions [s, d], candidate [s]).

    An end within ``tol_near`` of a slow candidate is that candidate (the nearest); the other slow
    ends are clustered transitively within ``tol_near``, each cluster one point at its first member.
    """
    b, d = end_state_bxd.shape
    which = np.full(b, -1, np.int64)
    rows = np.flatnonzero(is_slow_b)
    if rows.size == 0:
        return which, np.zeros((0, d)), np.zeros(0, np.int64)
    ends = end_state_bxd[rows]
    if len(slow_xstar_sxd):
        dist = np.linalg.norm(ends[:, None, :] - slow_xstar_sxd[None, :, :], axis=2)
        candidate = np.where(dist.min(axis=1) < tol_near, dist.argmin(axis=1), -1)
    else:
        candidate = np.full(len(rows), -1, np.int64)
    keys = [("candidate", int(c)) for c in candidate]
    free = np.flatnonzero(candidate < 0)
    labels = cluster_labels(ends[free], tol_near)
    for position, label in zip(free, labels):
        keys[position] = ("new", int(label))
    order = list(dict.fromkeys(keys))          # slow points numbered in the order branches reach them
    positions, candidates = [], []
    for key in order:
        members = [i for i, k in enumerate(keys) if k == key]
        candidates.append(key[1] if key[0] == "candidate" else -1)
        positions.append(slow_xstar_sxd[key[1]] if key[0] == "candidate" else ends[members[0]])
    which[rows] = [order.index(k) for k in keys]
    return which, np.asarray(positions, np.float64).reshape(-1, d), np.asarray(candidates, np.int64)


def trace_branches(step: Callable, params, fixed_points, u, *, slow_xstar=None, **settings) -> Branches:
    """Follow every unstable branch of every saddle of ``fixed_points`` to its end; see the module docstring.

    Args:
      step: the map F(params, x[d], u[m]) -> x'[d] (e.g. ``models.STEP_FUNCTIONS[rnn_type]``), JAX-traceable.
      params: its parameter pytree (cast to float64).
      fixed_points: a `FixedPoints` (or anything with ``xstar`` [n, d], ``eigval_J_xstar`` [n, d]
        sorted by |λ| descending, ``eigvec_J_xstar`` [n, d, d] in columns, ``n_unstable`` [n],
        ``is_stable`` [n]).
      u: the constant input [m] at which the points are fixed.
      slow_xstar: the run's slow candidates [s, d] (optional), which name the slow ends near them.
      settings: any field of `ConnectionSettings` (``step_size`` ε, ``max_steps``, ``tol_near``,
        ``tol_speed``, ``max_path_points``, ``chunk_steps``, ``verbose``: progress on stderr).
    """
    from .finder import x64_scope

    options = from_mapping(ConnectionSettings, settings, "connection")
    xstar = np.asarray(fixed_points.xstar, np.float64)
    if xstar.ndim != 2:
        raise ValueError(f"fixed_points.xstar must have shape [n, d], got {xstar.shape}")
    n, d = xstar.shape
    arrays = {}
    for name, shape in (("eigval_J_xstar", (n, d)), ("eigvec_J_xstar", (n, d, d)), ("n_unstable", (n,)),
                        ("is_stable", (n,))):
        value = getattr(fixed_points, name, None)
        if value is None or np.shape(value) != shape:
            raise ValueError(f"fixed_points.{name} must have shape {list(shape)} (decomposed Jacobians), got "
                             f"{None if value is None else list(np.shape(value))}")
        arrays[name] = np.asarray(value)
    slow = np.zeros((0, d)) if slow_xstar is None else np.asarray(slow_xstar, np.float64).reshape(-1, d)
    u = np.asarray(u, np.float64).reshape(-1)
    saddle, eig_index, sign, direction = branch_directions(arrays["eigval_J_xstar"], arrays["eigvec_J_xstar"],
                                                           arrays["n_unstable"])
    b, n_path = len(saddle), int(options.max_path_points)
    x0 = xstar[saddle] + (sign * options.step_size)[:, None] * direction
    log = partial(print, file=sys.stderr, flush=True) if options.verbose else (lambda *_: None)
    log(f"topology: {b} branches from {int(np.sum(arrays['n_unstable'] > 0))} saddles, state size {d}")
    with x64_scope():
        state = _initial_state(x0.reshape(b, d), n_path)
        params64 = jax.device_put(jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params))
        statics = (*jax.device_put((u, xstar, np.asarray(arrays["is_stable"], bool), np.asarray(saddle, np.int64))),
                   float(options.tol_near), float(options.tol_speed))
        t, max_steps = 0, int(options.max_steps)
        while b and t < max_steps:
            t_end = min(t + int(options.chunk_steps), max_steps)
            state = _run_chunk(step, params64, *statics, state, np.int64(t_end))
            t, running = int(state.t), int(np.sum(np.asarray(state.active)))
            log(f"topology: step {t}/{max_steps}, {running}/{b} branches running")
            if running == 0:
                break
        state = jax.tree_util.tree_map(np.asarray, _finish(state) if b else state)
    end_kind, end_node = state.end_kind.copy(), state.end_node.copy()
    which, slow_position, slow_candidate = _slow_nodes(state.x, end_kind == SLOW, slow, float(options.tol_near))
    end_node[which >= 0] = n + which[which >= 0]
    return Branches(saddle=saddle, eig_index=eig_index, sign=sign, direction=direction.reshape(b, d),
                    end_kind=end_kind, end_node=end_node, end_state=state.x, steps=state.steps,
                    first_node=state.first_node, first_step=state.first_step, path=state.path,
                    path_length=state.count, slow_position=slow_position, slow_candidate=slow_candidate)
