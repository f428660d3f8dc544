"""`FixedPointFinder`: fixed points x* = F(x*, u) of a recurrent map by optimisation, then Newton.

Method (Sussillo & Barak 2013; Golub & Sussillo 2018, "FixedPointFinder", JOSS 3(31):1003):

1. Starts x₀ are states sampled from trajectories plus Gaussian noise (or given explicitly).
2. Minimise q(x) = ½‖F(x, u) − x‖₂² with Adam (optax ``scale_by_adam``). ``method='joint'``
   minimises the mean of q over all starts with one optimiser state; ``'sequential'`` optimises
   every start on its own (own Adam state, learning rate, clipping history and stop), as a `vmap`
   over starts. Both are one compiled ``lax.while_loop``, run in chunks of
   ``n_iters_per_print_update`` steps so the host can print progress. A start stops when
   q < tol_q or |Δq| < tol_dq·lr; the loop stops when all have stopped or at ``max_iters``.
   The learning rate adapts both ways: × ``lr_factor`` when the newest objective is worse than
   each of the previous ``lr_patience`` ones, ÷ ``lr_factor`` when it fell at each of the last
   ``lr_patience`` steps, at most once per max(``lr_patience``, ``lr_cooldown``) steps. Gradients
   are clipped at the ``clip_percentile``-th percentile of the last ``clip_window`` gradient norms.
3. Distinct candidates: transitive clusters of [x*, u] within ``tol_unique`` (lowest q kept),
   distance outliers (‖x* − c‖ > ``outlier_distance_scale`` · mean ‖x₀ − c‖, c the centroid of the
   starts) dropped, optional re-run of q outliers (q > ``outlier_q_scale`` · median q), then at most
   ``max_n_unique`` (lowest q first).
4. Polish: damped Newton x ← x − α (J − I)⁻¹ (F(x) − x), J = ∂F/∂x, α the first of 1, ½, ¼, …
   that lowers ‖F(x) − x‖. A candidate is a fixed point when Newton converges
   (‖F(x) − x‖ ≤ ``tol_newton``), q ≤ ``final_q_threshold`` and it is isolated: the smallest singular
   value of J − I is ≥ ``tol_isolated``. The others are slow or marginal points (``slow_fps``).
5. Completeness: more starts at the midpoints of every pair of attractors found (the centre of a
   face of the attractor hypercube, where saddles sit) and uniformly in the bounding box of the
   trajectories, repeated while new attractors appear.
6. Jacobians J = ∂F/∂x and ∂F/∂u by ``jit(vmap(jacfwd))``, eigenvalues sorted by |λ| descending,
   ``is_stable`` = max|λ| < 1, ``n_unstable`` = #{|λ| > 1}.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .fixed_points import FixedPoints, cluster_labels, representatives, single_thread_blas
from .models import RNN, STEP_FUNCTIONS

FINDER_DEFAULTS = dict(
    method="joint", max_iters=5000, tol_q=1e-4, tol_dq=1e-16, lr_init=0.02, lr_factor=0.95, lr_patience=5,
    lr_cooldown=0, do_compute_jacobians=True, do_decompose_jacobians=True, tol_unique=1e-2,
    do_exclude_distance_outliers=True, outlier_distance_scale=10.0, do_rerun_q_outliers=False,
    outlier_q_scale=10.0, max_n_unique=math.inf, final_q_threshold=1e-6, dtype="float32", random_seed=0,
    verbose=True, super_verbose=False, n_iters_per_print_update=100, adam_eps=1e-8,
    do_adaptive_clipping=True, clip_percentile=95.0, clip_window=128, do_polish=True, newton_max_iters=30,
    tol_newton=None, tol_isolated=1e-3, do_completeness_starts=True, n_box_inits=256, max_pair_inits=4096,
    max_completeness_rounds=3,
)
"""Every constructor argument with its default (``tol_newton=None``: 1e-5 for float32, 1e-10 for float64)."""

SEARCH_DEFAULTS = dict(n_inits=1024, noise_scale=0.4)
"""Defaults of `FixedPointFinder.find_fixed_points`' sampling arguments."""

_CHECKS = {
    "max_iters": (lambda v: int(v) == v and v >= 1, "a positive integer"),
    "tol_q": (lambda v: v >= 0, "a non-negative number"),
    "tol_dq": (lambda v: v >= 0, "a non-negative number"),
    "lr_init": (lambda v: v > 0, "a positive number"),
    "lr_factor": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "lr_patience": (lambda v: int(v) == v and v >= 1, "a positive integer"),
    "lr_cooldown": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
    "tol_unique": (lambda v: v > 0, "a positive number"),
    "outlier_distance_scale": (lambda v: v > 0, "a positive number"),
    "outlier_q_scale": (lambda v: v > 0, "a positive number"),
    "max_n_unique": (lambda v: v >= 1 and (v == math.inf or int(v) == v), "a positive integer or inf"),
    "final_q_threshold": (lambda v: v >= 0, "a non-negative number"),
    "random_seed": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
    "n_iters_per_print_update": (lambda v: int(v) == v and v >= 1, "a positive integer"),
    "adam_eps": (lambda v: v > 0, "a positive number"),
    "clip_percentile": (lambda v: 0 < v <= 100, "a number in (0, 100]"),
    "clip_window": (lambda v: int(v) == v and v >= 1, "a positive integer"),
    "newton_max_iters": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
    "tol_newton": (lambda v: v is None or v > 0, "a positive number or None"),
    "tol_isolated": (lambda v: v >= 0, "a non-negative number"),
    "n_box_inits": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
    "max_pair_inits": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
    "max_completeness_rounds": (lambda v: int(v) == v and v >= 0, "a non-negative integer"),
}
FINDER_CHOICES = {"method": ("joint", "sequential"), "dtype": ("float32", "float64")}
_MEMORY_BUDGET = 2 ** 28   # bytes of Jacobians held at once by Newton and the Jacobian pass


def x64_scope():
    """A context in which JAX computes in 64 bits (``jax.enable_x64``; older JAX: ``jax.experimental``)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64   # pragma: no cover  (jax < 0.7)
    return enable_x64()


# -- the map F ------------------------------------------------------------------------------------

class ModelStep:
    """Adapt a callable ``model(inputs[n,1,m], hidden[n,d]) -> (outputs, h_next)`` to F(params, x[d], u[m])."""

    def __init__(self, model: Callable):
        self.model = model

    def __call__(self, params, x, u):
        _, h_next = self.model(u[None, None, :], x[None, :])
        return jnp.reshape(h_next, x.shape)

    def __hash__(self):
        return id(self.model)

    def __eq__(self, other):
        return isinstance(other, ModelStep) and other.model is self.model


def _q_single(step, params, x, u):
    """q(x) = ½‖F(x, u) − x‖² and F(x, u) for one state x [d] and input u [m]."""
    F = step(params, x, u)
    return 0.5 * jnp.sum((F - x) ** 2), F


@partial(jax.jit, static_argnums=0)
def _evaluate(step, params, x_nxd, u_nxm):
    """(F [n,d], q [n]) at every state."""
    q, F = jax.vmap(partial(_q_single, step), (None, 0, 0))(params, x_nxd, u_nxm)
    return F, q


@partial(jax.jit, static_argnums=0)
def _jacobians(step, params, x_nxd, u_nxm):
    """(∂F/∂x [n,d,d], ∂F/∂u [n,d,m]) at every state, by forward-mode differentiation."""
    return jax.vmap(jax.jacfwd(step, argnums=(1, 2)), (None, 0, 0))(params, x_nxd, u_nxm)


# -- the compiled optimisation loop -----------------------------------------------------------

class GroupState(NamedTuple):
    """Optimiser state of G groups of g starts (joint: G=1, g=n; sequential: G=n, g=1)."""

    x: jax.Array            # [G, g, d]
    adam: optax.ScaleByAdamState
    lr: jax.Array           # [G]
    obj_hist: jax.Array     # [G, lr_patience + 1], newest last (NaN before it is filled)
    since_change: jax.Array  # [G] steps since the last change of lr
    norm_hist: jax.Array    # [G, clip_window] last gradient norms, oldest first (NaN before filled)
    norm_sorted: jax.Array  # [G, clip_window] the same norms in ascending order (+inf before filled)
    q: jax.Array            # [G, g] q at the newest evaluated point
    dq: jax.Array           # [G, g] |Δq| of the newest step
    n_iters: jax.Array      # [G, g] optimiser steps taken
    done: jax.Array         # [G, g] stopped


@partial(jax.jit, static_argnums=(3, 4))
def _init_state(x_gxd_G, done_gxg, lr_init, patience, window) -> GroupState:
    G, g, _ = x_gxd_G.shape
    dtype = x_gxd_G.dtype
    nan = jnp.full((G,), jnp.nan, dtype)
    return GroupState(
        x=x_gxd_G, adam=jax.vmap(optax.scale_by_adam().init)(x_gxd_G), lr=jnp.full((G,), lr_init, dtype),
        obj_hist=jnp.broadcast_to(nan[:, None], (G, patience + 1)), since_change=jnp.zeros(G, jnp.int32),
        norm_hist=jnp.broadcast_to(nan[:, None], (G, window)),
        norm_sorted=jnp.full((G, window), jnp.inf, dtype), q=jnp.full((G, g), jnp.nan, dtype),
        dq=jnp.full((G, g), jnp.nan, dtype), n_iters=jnp.zeros((G, g), jnp.int32), done=done_gxg)


def _bucket(n: int, d: int = 1) -> int:
    """Padded batch size, a power of two (at least 256 for states of up to 64 dimensions, where the
    padding costs little), so that few shapes are ever compiled."""
    return max(256 if d <= 64 else 8, 1 << (int(n) - 1).bit_length())


def slide_sorted_window(sorted_w, oldest, newest):
    """Replace ``oldest`` by ``newest`` in the ascending window ``sorted_w`` [W] (+inf marks empty
    slots, NaN ``oldest`` an empty one): two O(W) shifts instead of a sort at every step."""
    W = sorted_w.shape[0]
    idx = jnp.arange(W)
    remove_at = jnp.where(jnp.isnan(oldest), W - 1, jnp.argmax(sorted_w == oldest))
    padded = jnp.concatenate([sorted_w, jnp.full((1,), jnp.inf, sorted_w.dtype)])
    removed = jnp.where(idx >= remove_at, padded[idx + 1], sorted_w)
    insert_at = jnp.sum(removed < newest)
    return jnp.where(idx < insert_at, removed, jnp.where(idx == insert_at, newest, jnp.roll(removed, 1)))


def sorted_percentile(sorted_w, percentile):
    """``np.percentile`` (linear interpolation) of the finite entries of an ascending array."""
    n_valid = jnp.sum(jnp.isfinite(sorted_w))
    position = percentile / 100.0 * jnp.maximum(n_valid - 1, 0).astype(sorted_w.dtype)
    low = jnp.floor(position).astype(jnp.int32)
    high = jnp.minimum(low + 1, jnp.maximum(n_valid - 1, 0))
    weight = position - low
    upper = jnp.where(weight > 0, sorted_w[high], sorted_w[low])
    return sorted_w[low] + weight * (upper - sorted_w[low])


def adapt_learning_rate(lr, obj_hist, since_change, obj, lr_factor, lr_cooldown, running=True):
    """Two-way adaptive learning rate (Golub & Sussillo 2018) → (lr, obj_hist, since_change).

    ``obj_hist`` [P+1] holds the last objectives (newest last; P = lr_patience), ``obj`` is appended.
    Once at least max(P, ``lr_cooldown``) steps passed since the last change: lr ← lr·lr_factor when
    ``obj`` is worse than each of the P before it; lr ← lr / lr_factor when the objective fell at each
    of the last P steps; the step counter restarts after a change.
    """
    obj_hist = jnp.concatenate([obj_hist[1:], jnp.reshape(obj, (1,)).astype(obj_hist.dtype)])
    since = since_change + 1
    ready = (since >= obj_hist.shape[0] - 1) & (since >= lr_cooldown) & running
    worse = obj > jnp.max(obj_hist[:-1])
    falling = jnp.all(jnp.diff(obj_hist) < 0)
    lr = jnp.where(ready & worse, lr * lr_factor, jnp.where(ready & falling, lr / lr_factor, lr))
    return lr, obj_hist, jnp.where(ready & (worse | falling), 0, since)


def _group_step(step, adam_eps, adaptive_clip, st: GroupState, u_gxm, params, hyper) -> GroupState:
    """One Adam step on a group's objective mean_i q(x_i); stopped starts stay where they are."""

    def objective(x_gxd):
        q_g, _ = jax.vmap(partial(_q_single, step), (None, 0, 0))(params, x_gxd, u_gxm)
        return jnp.mean(q_g), q_g

    (obj, q), grad = jax.value_and_grad(objective, has_aux=True)(st.x)
    dq = jnp.abs(q - st.q)
    stop = (q < hyper["tol_q"]) | (dq < hyper["tol_dq"] * st.lr) | ~jnp.isfinite(q)
    done = st.done | stop
    active = ~done
    grad = jnp.where(active[:, None], grad, 0.0)
    norm = jnp.sqrt(jnp.sum(grad ** 2))
    norm = jnp.where(jnp.isfinite(norm), norm, 0.0)
    norm_hist = jnp.concatenate([st.norm_hist[1:], norm[None]])
    norm_sorted = slide_sorted_window(st.norm_sorted, st.norm_hist[0], norm)
    if adaptive_clip:
        clip = sorted_percentile(norm_sorted, hyper["clip_percentile"])
        grad = grad * jnp.where(norm > clip, clip / jnp.maximum(norm, 1e-30), 1.0)
    updates, adam = optax.scale_by_adam(eps=adam_eps).update(grad, st.adam)
    x = jnp.where(active[:, None], st.x - st.lr * updates, st.x)
    lr, obj_hist, since = adapt_learning_rate(st.lr, st.obj_hist, st.since_change, obj, hyper["lr_factor"],
                                              hyper["lr_cooldown"], jnp.any(active))
    return GroupState(x=x, adam=adam, lr=lr, obj_hist=obj_hist, since_change=since, norm_hist=norm_hist,
                      norm_sorted=norm_sorted,
                      q=jnp.where(st.done, st.q, q), dq=jnp.where(st.done, st.dq, dq),
                      n_iters=st.n_iters + active.astype(jnp.int32), done=done)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _run_chunk(step, adam_eps, adaptive_clip, st: GroupState, u_Gxgxm, params, hyper, it, it_end):
    """Run optimiser steps until ``it_end`` or until every start has stopped: one ``lax.while_loop``."""
    batched_step = jax.vmap(partial(_group_step, step, adam_eps, adaptive_clip), (0, 0, None, None))

    def cond(carry):
        i, s = carry
        return (i < it_end) & ~jnp.all(s.done)

    def body(carry):
        i, s = carry
        return i + 1, batched_step(s, u_Gxgxm, params, hyper)

    return jax.lax.while_loop(cond, body, (it, st))


# -- damped Newton ------------------------------------------------------------------------------

@partial(jax.jit, static_argnums=(0, 1))
def _newton(step, n_steps, params, x_nxd, u_nxm):
    """Damped Newton on r(x) = F(x, u) − x: x ← x − α (J − I)⁻¹ r, α ∈ {1, ½, …, 2⁻⁹} the first that
    lowers ‖r‖ by the factor 1 − 10⁻⁴α. A point stays where no α helps or the step is not finite;
    the others go on (also below any tolerance, so they reach the precision floor of the dtype) for
    at most ``n_steps`` steps. Returns (x, ‖r‖)."""
    alphas = 0.5 ** jnp.arange(10, dtype=x_nxd.dtype)

    def residual(x, u):
        return step(params, x, u) - x

    def one(x, u):
        r = residual(x, u)
        J = jax.jacfwd(residual)(x, u)
        delta = jnp.linalg.solve(J, -r)
        norm = jnp.linalg.norm(r)
        trial = x[None, :] + alphas[:, None] * delta[None, :]
        trial_norm = jnp.linalg.norm(jax.vmap(residual, (0, None))(trial, u), axis=1)
        better = (trial_norm < (1.0 - 1e-4 * alphas) * norm) & jnp.all(jnp.isfinite(delta))
        k = jnp.argmax(better)
        ok = jnp.any(better)
        return jnp.where(ok, trial[k], x), jnp.where(ok, trial_norm[k], norm)

    batched = jax.vmap(one)

    def cond(carry):
        i, _, norm, moved = carry
        return (i < n_steps) & jnp.any(moved)

    def body(carry):
        i, x, norm, _ = carry
        x_new, norm_new = batched(x, u_nxm)
        return i + 1, x_new, norm_new, norm_new < norm

    norm0 = jnp.linalg.norm(jax.vmap(residual)(x_nxd, u_nxm), axis=1)
    _, x, norm, _ = jax.lax.while_loop(cond, body, (0, x_nxd, norm0, jnp.ones(x_nxd.shape[0], bool)))
    return x, norm


def _chunked(fn, n: int, chunk: int, *arrays):
    """Apply ``fn`` to row-chunks of ``arrays`` (the last chunk padded, so one compilation) and join."""
    if n == 0:
        return None
    chunk = max(1, min(chunk, _bucket(n, arrays[0].shape[1])))
    outs = []
    for start in range(0, n, chunk):
        part = [a[start:start + chunk] for a in arrays]
        size = part[0].shape[0]
        if size < chunk:
            part = [np.concatenate([p, np.repeat(p[:1], chunk - size, axis=0)]) for p in part]
        out = fn(*part)
        outs.append(jax.tree_util.tree_map(lambda a: np.asarray(a)[:size], out))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def _empty_certified(d: int, m: int, tol_unique: float) -> FixedPoints:
    """A set of zero points that still carries every field, with the right trailing shapes."""
    z = np.zeros
    return FixedPoints(z((0, d)), z((0, d)), z((0, m)), z((0, d)), z(0), z(0), z(0, np.int64), J_xstar=z((0, d, d)),
                       dFdu=z((0, d, m)), eigval_J_xstar=z((0, d), complex), eigvec_J_xstar=z((0, d, d), complex),
                       is_stable=z(0, bool), n_unstable=z(0, np.int64), residual_norm=z(0),
                       newton_converged=z(0, bool), sigma_min=z(0), is_slow=z(0, bool), is_marginal=z(0, bool),
                       tol_unique=tol_unique)


def empty_fixed_points(d: int, m: int, tol_unique: float = FINDER_DEFAULTS["tol_unique"]) -> FixedPoints:
    """A set of zero fixed points with every field present (for a skipped run)."""
    return _empty_certified(d, m, tol_unique)


# -- the finder -----------------------------------------------------------------------------------

class FixedPointFinder:
    """Find, polish and classify the fixed points of an `RNN` or of any JAX-traceable callable
    ``model(inputs[n,1,m], hidden[n,d]) -> (outputs, h_next)``; see the module docstring.

    Every argument of `FINDER_DEFAULTS` may be given by keyword. After `find_fixed_points`, the
    attribute ``slow_fps`` holds the polished candidates that are slow (not converged, or q above
    ``final_q_threshold``) or marginal (not isolated), with their certificate, and ``lr_final``
    the learning rate(s) at the end of the last optimisation ([1] joint, [n] sequential).
    """

    def __init__(self, rnn, **options):
        unknown = sorted(set(options) - set(FINDER_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown FixedPointFinder option(s) {unknown}; expected some of "
                             f"{sorted(FINDER_DEFAULTS)}")
        settings = {**FINDER_DEFAULTS, **options}
        for name, choices in FINDER_CHOICES.items():
            if settings[name] not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {settings[name]!r}")
        for name, (ok, expected) in _CHECKS.items():
            value = settings[name]
            try:
                valid = bool(ok(value))
            except (TypeError, ValueError, OverflowError):
                valid = False
            if not valid:
                raise ValueError(f"{name} must be {expected}, got {value!r}")
        self.settings = settings
        for name, value in settings.items():
            setattr(self, name, value)
        if isinstance(rnn, RNN):
            self.step, self._params = STEP_FUNCTIONS[rnn.rnn_type], dict(rnn.params)
        elif callable(rnn):
            self.step, self._params = ModelStep(rnn), {}
        else:
            raise ValueError(f"rnn must be a fixedpoints.RNN or a callable model(inputs, hidden), got "
                             f"{type(rnn).__name__}")
        self.rnn = rnn
        self.slow_fps: FixedPoints | None = None
        self.lr_final: np.ndarray | None = None
        self._opt_size = 0
        if self.tol_newton is None:
            self.tol_newton = 1e-5 if self.dtype == "float32" else 1e-10

    # -- helpers ------------------------------------------------------------------------------
    def _precision(self):
        return x64_scope() if self.dtype == "float64" else contextlib.nullcontext()

    def _log(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def hyperparameters(self) -> dict:
        """The settings as HDF5-storable attributes (None becomes the resolved value)."""
        return {k: (self.tol_newton if k == "tol_newton" else v) for k, v in self.settings.items()}

    def sample_inits(self, state_traj, n_inits: int, noise_scale: float, valid_bxt=None) -> np.ndarray:
        """Starts [n_inits, d]: states drawn uniformly from the valid (trial, time) entries of
        ``state_traj`` [trials, time, d], plus noise_scale · N(0, I); seeded by ``random_seed``."""
        traj = np.asarray(state_traj, np.float64)
        if traj.ndim == 2:
            traj = traj[:, None, :]
        valid = np.ones(traj.shape[:2], bool) if valid_bxt is None else np.asarray(valid_bxt, bool)
        if valid.shape != traj.shape[:2]:
            raise ValueError(f"valid_bxt must have shape {traj.shape[:2]}, got {valid.shape}")
        trial_idx, time_idx = np.nonzero(valid)
        if len(trial_idx) == 0:
            raise ValueError("valid_bxt marks no state of state_traj as valid")
        rng = np.random.RandomState(self.random_seed)
        pick = rng.randint(len(trial_idx), size=int(n_inits))
        states = traj[trial_idx[pick], time_idx[pick]]
        return states + noise_scale * rng.randn(*states.shape)

    def _state_size(self, m: int, d_hint: int | None) -> int:
        if isinstance(self.rnn, RNN):
            return self.rnn.state_size
        if d_hint is None:
            raise ValueError("state_traj or initial_states is needed to know the state size of a callable model")
        return d_hint

    # -- optimisation -------------------------------------------------------------------------
    def _optimize(self, params, x0_nxd: np.ndarray, u_nxm: np.ndarray, dtype, label: str) -> FixedPoints:
        """Adam from every start (joint or sequential); the raw result per start."""
        n, d = x0_nxd.shape
        if n == 0:
            return FixedPoints(np.zeros((0, d)), np.zeros((0, d)), u_nxm[:0], np.zeros((0, d)), np.zeros(0),
                               np.zeros(0), np.zeros(0, np.int64), tol_unique=self.tol_unique)
        # pad to a bucket size (padding rows start stopped), reusing the first call's size when cheap
        n_pad = _bucket(n, d)
        if self._opt_size and n <= self._opt_size and self._opt_size * d <= 2 ** 16:
            n_pad = self._opt_size
        self._opt_size = self._opt_size or n_pad
        pad = lambda a: np.concatenate([a, np.repeat(a[:1], n_pad - n, axis=0)])
        G, g = (1, n_pad) if self.method == "joint" else (n_pad, 1)
        x = jnp.asarray(pad(x0_nxd), dtype).reshape(G, g, d)
        u = jnp.asarray(pad(u_nxm), dtype).reshape(G, g, -1)
        done = jnp.asarray(np.arange(n_pad) >= n).reshape(G, g)
        st = _init_state(x, done, jnp.asarray(self.lr_init, dtype), int(self.lr_patience), int(self.clip_window))
        hyper = {k: np.asarray(getattr(self, k), dtype) for k in
                 ("tol_q", "tol_dq", "lr_factor", "lr_cooldown", "clip_percentile")}
        chunk = int(self.n_iters_per_print_update) if self.verbose else int(self.max_iters)
        self._log(f"{label}: optimizing {n} starts ({self.method}).")
        i = 0
        start = time.perf_counter()
        while True:
            it_end = np.int32(min(i + chunk, int(self.max_iters)))
            it, st = _run_chunk(self.step, float(self.adam_eps), bool(self.do_adaptive_clipping), st, u, params,
                                hyper, np.int32(i), it_end)
            i = int(it)
            all_done = bool(np.all(np.asarray(st.done)))
            if self.verbose:
                q, dq = np.asarray(st.q).reshape(-1)[:n], np.asarray(st.dq).reshape(-1)[:n]
                lr = np.asarray(st.lr)[: n if G > 1 else 1]
                dq = dq[np.isfinite(dq)] if np.any(np.isfinite(dq)) else np.zeros(1)
                print(f"  iter {i:5d}: q = {np.mean(q):.2e} +/- {np.std(q):.2e}, dq = {np.mean(dq):.2e} +/- "
                      f"{np.std(dq):.2e}, lr = {np.mean(lr):.2e}, stopped {int(np.sum(st.done)) - (n_pad - n)}/{n}, "
                      f"{(time.perf_counter() - start) / max(i, 1):.2e} s/iter", file=sys.stderr, flush=True)
            if all_done or i >= self.max_iters:
                break
        xstar = np.asarray(st.x).reshape(n_pad, d)[:n]
        self.lr_final = np.asarray(st.lr)[: n if G > 1 else 1]
        F, q = _evaluate(self.step, params, st.x.reshape(n_pad, d), u.reshape(n_pad, -1))
        F, q = np.asarray(F)[:n], np.asarray(q)[:n]
        self._log(f"  optimization stopped after {i} iterations "
                  f"({'all starts converged' if all_done else 'max_iters reached'}).")
        return FixedPoints(xstar, x0_nxd, u_nxm, F, q, np.asarray(st.dq).reshape(-1)[:n],
                           np.asarray(st.n_iters).reshape(-1)[:n], tol_unique=self.tol_unique)

    # -- candidates, polish, classification ---------------------------------------------------
    def _candidates(self, params, raw: FixedPoints, center, mean_dist, dtype) -> FixedPoints:
        """Distinct, non-outlying candidates of a raw result, polished and certified (a q-outlier
        rerun updates ``raw`` itself)."""
        if self.do_rerun_q_outliers and raw.n:
            outlier = raw.qstar > self.outlier_q_scale * np.median(raw.qstar)
            if np.any(outlier):
                rerun = self._optimize(params, raw.xstar[outlier], raw.inputs[outlier], dtype, "q outliers")
                for name in ("xstar", "F_xstar", "qstar", "dq", "n_iters"):
                    value = np.array(getattr(raw, name))
                    value[outlier] = getattr(rerun, name) + (value[outlier] if name == "n_iters" else 0)
                    setattr(raw, name, value)
        cands = raw.get_unique(self.tol_unique)
        if self.do_exclude_distance_outliers and cands.n:
            far = np.linalg.norm(cands.xstar - center, axis=1) > self.outlier_distance_scale * mean_dist
            cands = cands[~far]
        if cands.n > self.max_n_unique:
            cands = cands[np.argsort(cands.qstar, kind="stable")[: int(self.max_n_unique)]]
        polished = self._polish(params, cands, dtype)
        if self.super_verbose:
            self._log(f"  {raw.n} results -> {cands.n} distinct candidates -> {polished.n} after polishing: "
                      f"{int(np.sum(~polished.is_slow & ~polished.is_marginal))} fixed, "
                      f"{int(np.sum(polished.is_slow))} slow, {int(np.sum(polished.is_marginal))} marginal")
        return polished

    def _polish(self, params, cands: FixedPoints, dtype) -> FixedPoints:
        """Newton-polish, dedupe, and attach the certificate and Jacobians."""
        n, d, m = cands.n, cands.n_states, cands.n_inputs
        if n == 0:
            return _empty_certified(d, m, self.tol_unique)
        chunk = max(1, _MEMORY_BUDGET // (16 * d * d))
        x, u = cands.xstar.astype(dtype), cands.inputs.astype(dtype)
        if self.do_polish and self.newton_max_iters > 0:
            x, _ = _chunked(lambda a, b: _newton(self.step, int(self.newton_max_iters), params, a, b), n, chunk,
                            x, u)
        F, q = _chunked(lambda a, b: _evaluate(self.step, params, a, b), n, chunk, x, u)
        residual = np.sqrt(2.0 * np.maximum(q.astype(np.float64), 0.0))
        polished = FixedPoints(x, cands.x_init, cands.inputs, F, q, cands.dq, cands.n_iters,
                               residual_norm=residual,
                               newton_converged=(residual <= self.tol_newton) & bool(self.do_polish),
                               cond_id=cands.cond_id, tol_unique=self.tol_unique)
        polished = polished.get_unique(self.tol_unique)
        J, dFdu = _chunked(lambda a, b: _jacobians(self.step, params, a, b), polished.n, chunk,
                           polished.xstar.astype(dtype), polished.inputs.astype(dtype))
        J = J.astype(np.float64)
        polished.J_xstar, polished.dFdu = J, dFdu.astype(np.float64)
        with single_thread_blas():
            polished.sigma_min = np.linalg.svd(J - np.eye(d), compute_uv=False)[:, -1]
        polished.is_slow = (polished.qstar > self.final_q_threshold) | (
            ~polished.newton_converged if self.do_polish else np.zeros(polished.n, bool))
        polished.is_marginal = ~polished.is_slow & (polished.sigma_min < self.tol_isolated)
        polished.decompose_jacobians()
        return polished

    def _completeness_starts(self, found: FixedPoints, tried_pairs: set, rng, lo, hi, u_rows, first: bool):
        """Midpoints of new attractor pairs (same input) and, in the first round, uniform box starts."""
        good = found[~found.is_slow & ~found.is_marginal & found.is_stable]
        starts, inputs = [], []
        keys = [tuple(np.round(p, 6)) for p in np.concatenate([good.xstar, good.inputs], axis=1)]
        pairs = []
        for i in range(good.n):
            for j in range(i + 1, good.n):
                key = (keys[i], keys[j])
                if key not in tried_pairs and np.array_equal(good.inputs[i], good.inputs[j]):
                    pairs.append((i, j, key))
        if len(pairs) > self.max_pair_inits:
            pairs = [pairs[k] for k in np.sort(rng.choice(len(pairs), int(self.max_pair_inits), replace=False))]
        for i, j, key in pairs:
            tried_pairs.add(key)
            starts.append(0.5 * (good.xstar[i] + good.xstar[j]))
            inputs.append(good.inputs[i])
        if first and self.n_box_inits:
            starts.extend(lo + (hi - lo) * rng.rand(int(self.n_box_inits), len(lo)))
            inputs.extend(u_rows[rng.randint(len(u_rows), size=int(self.n_box_inits))])
        d, m = found.n_states, u_rows.shape[1]
        return (np.asarray(starts, np.float64).reshape(-1, d), np.asarray(inputs, np.float64).reshape(-1, m))

    # -- public -------------------------------------------------------------------------------
    def find_fixed_points(self, state_traj=None, inputs=None, n_inits: int = SEARCH_DEFAULTS["n_inits"],
                          noise_scale: float = SEARCH_DEFAULTS["noise_scale"],
                          valid_bxt=None, cond_ids=None, initial_states=None) -> tuple[FixedPoints, FixedPoints]:
        """Find the fixed points → (unique_fps, all_fps).

        ``state_traj`` [trials, time, d]: states to sample ``n_inits`` starts from (plus noise of scale
        ``noise_scale``), unless ``initial_states`` [n, d] are given. ``inputs``: [1, m] (shared) or
        [n, m] (one per start). ``cond_ids`` [n]: optional labels carried along. ``unique_fps`` holds
        the isolated, polished fixed points with Jacobians; ``all_fps`` the optimiser's result for
        every start (completeness starts included), ``is_slow`` marking q > final_q_threshold.
        """
        start_time = time.perf_counter()
        self._opt_size = 0
        if state_traj is None and initial_states is None:
            raise ValueError("find_fixed_points needs state_traj or initial_states")
        if initial_states is not None:
            x0 = np.asarray(initial_states, np.float64)
            if x0.ndim != 2 or x0.shape[0] == 0:
                raise ValueError(f"initial_states must have shape [n>0, d], got {x0.shape}")
        else:
            if int(n_inits) != n_inits or n_inits < 1:
                raise ValueError(f"n_inits must be a positive integer, got {n_inits!r}")
            if not noise_scale >= 0:
                raise ValueError(f"noise_scale must be a non-negative number, got {noise_scale!r}")
            traj = np.asarray(state_traj, np.float64)
            if traj.ndim not in (2, 3) or traj.size == 0:
                raise ValueError(f"state_traj must have shape [trials, time, d], got {traj.shape}")
            x0 = self.sample_inits(traj, int(n_inits), float(noise_scale), valid_bxt)
        n, d_hint = x0.shape
        d = self._state_size(0, d_hint)
        if d_hint != d:
            raise ValueError(f"states have size {d_hint}, but the network's state size is {d}")
        if inputs is None:
            if not isinstance(self.rnn, RNN):
                raise ValueError("inputs [1, m] or [n, m] is needed for a callable model")
            inputs = np.zeros((1, self.rnn.n_inputs))
        u = np.asarray(inputs, np.float64)
        if u.ndim != 2 or u.shape[0] not in (1, n):
            raise ValueError(f"inputs must have shape [1, m] or [{n}, m], got {u.shape}")
        if isinstance(self.rnn, RNN) and u.shape[1] != self.rnn.n_inputs:
            raise ValueError(f"inputs must have {self.rnn.n_inputs} columns (the network's n_inputs), got {u.shape[1]}")
        u = np.broadcast_to(u, (n, u.shape[1])).copy()
        if cond_ids is not None and np.shape(cond_ids) != (n,):
            raise ValueError(f"cond_ids must have shape [{n}], got {np.shape(cond_ids)}")
        traj_states = (np.asarray(state_traj, np.float64).reshape(-1, d) if state_traj is not None else x0)
        if not (np.all(np.isfinite(x0)) and np.all(np.isfinite(u)) and np.all(np.isfinite(traj_states))):
            raise ValueError("state_traj, initial_states and inputs must be finite")

        with self._precision():
            dtype = jnp.float64 if self.dtype == "float64" else jnp.float32
            params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), self._params)
            try:
                jax.eval_shape(self.step, params, jnp.zeros(d, dtype), jnp.zeros(u.shape[1], dtype))
            except Exception as error:  # a model that cannot take these shapes
                raise ValueError(f"the model cannot map a state [{d}] and input [{u.shape[1]}] to a state: "
                                 f"{' '.join(str(error).split())[:300]}") from None
            center = x0.mean(axis=0)
            mean_dist = float(np.mean(np.linalg.norm(x0 - center, axis=1))) or 1.0
            self._log(f"Searching for fixed points from {n} initial states.")
            raw = self._optimize(params, x0, u, dtype, "sampled starts")
            if cond_ids is not None:
                raw.cond_id = np.asarray(cond_ids, np.int64)
            raw_parts = [raw]
            found = self._candidates(params, raw, center, mean_dist, dtype)
            if self.do_completeness_starts and found.n:
                rng = np.random.RandomState(self.random_seed + 1)
                lo, hi = traj_states.min(axis=0), traj_states.max(axis=0)
                pad = 0.05 * (hi - lo) + 1e-3
                tried: set = set()
                u_rows = np.unique(u, axis=0)
                for round_ in range(int(self.max_completeness_rounds)):
                    n_stable = int(np.sum(found.is_stable & ~found.is_slow & ~found.is_marginal))
                    xs, us = self._completeness_starts(found, tried, rng, lo - pad, hi + pad, u_rows, round_ == 0)
                    if len(xs) == 0:
                        break
                    extra = self._optimize(params, xs, us, dtype, f"completeness round {round_ + 1}")
                    if cond_ids is not None:
                        extra.cond_id = np.full(extra.n, -1, np.int64)
                    raw_parts.append(extra)
                    more = self._candidates(params, extra, center, mean_dist, dtype)
                    if more.n == 0:
                        continue
                    merged = FixedPoints.concatenate([found, more])
                    merged_rank = np.where(merged.is_slow | merged.is_marginal, np.inf, 0.0) + merged.qstar
                    labels = cluster_labels(np.concatenate([merged.xstar, merged.inputs], 1), self.tol_unique)
                    found = merged[np.sort(representatives(labels, merged_rank))]
                    if int(np.sum(found.is_stable & ~found.is_slow & ~found.is_marginal)) == n_stable:
                        break
        if found.n > self.max_n_unique:
            found = found[np.sort(np.argsort(found.qstar, kind="stable")[: int(self.max_n_unique)])]
        all_fps = FixedPoints.concatenate(raw_parts)
        all_fps.is_slow = all_fps.qstar > self.final_q_threshold
        bad = found.is_slow | found.is_marginal if found.n else np.zeros(0, bool)
        unique_fps, self.slow_fps = found[~bad], found[bad]
        if not self.do_compute_jacobians:
            for name in ("J_xstar", "dFdu", "eigval_J_xstar", "eigvec_J_xstar", "is_stable", "n_unstable"):
                setattr(unique_fps, name, None)
        elif not self.do_decompose_jacobians:
            for name in ("eigval_J_xstar", "eigvec_J_xstar", "is_stable", "n_unstable"):
                setattr(unique_fps, name, None)
        wall_s = time.perf_counter() - start_time
        hyper = {**self.hyperparameters(), "wall_s": wall_s}
        for fps in (unique_fps, all_fps, self.slow_fps):
            fps.hyperparameters = hyper
        self._log(f"Found {unique_fps.n} fixed points"
                  + (f" ({int(np.sum(unique_fps.is_stable))} stable)" if unique_fps.is_stable is not None else "")
                  + f", {self.slow_fps.n} slow or marginal candidates, from {all_fps.n} starts in {wall_s:.2f} s.")
        return unique_fps, all_fps
