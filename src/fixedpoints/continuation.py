"""Fixed points followed as the input grows: pseudo-arclength continuation, bifurcations, ``continuation.h5``.

A FlipFlop network holds its bits at u = 0, and a pulse on channel k flips bit k. The mechanism shows
away from u = 0: as the input grows, attractors of the opposite bit meet saddles and vanish
(saddle-node bifurcations, *folds*), leaving one basin. This module follows every fixed point of
u = 0 along a path u(s) = s·a (by default a = ±e_k for every channel k, s from 0 to the pulse
amplitude s_max) and finds where fixed points meet, lose or gain stability.

**The curve.** A branch is a curve z(σ) = (y(σ), s(σ)) ∈ R^(k+1) of roots of
H(z) = R(params, y, s·a), the *reduced* fixed-point equation of the cell (`fixedpoints.equations`;
the full state is x = lift(y, s·a)), parametrised by its arclength σ. Pseudo-arclength continuation
(Keller 1977; Allgower & Georg, *Introduction to Numerical Continuation Methods*, ch. 2), from a
point z with unit tangent t:

* tangent: the null vector of DH = [∂R/∂y, ∂R/∂s] (k × (k+1), by ``jax.jacfwd``), oriented like the
  previous tangent: [DH; t_prevᵀ] t = e_(k+1), then t/‖t‖ (at s = 0: t_s > 0);
* predictor w⁰ = z + h t; corrector: Newton on G(w) = [H(w); tᵀ(w − z) − h] = 0, whose Jacobian
  [DH; tᵀ] stays regular at a fold, so a branch that turns back in s is followed through it;
* step control: a step is accepted when Newton converges (‖Δw‖∞ ≤ ``tol_newton`` within
  ``newton_max_iters``) and the tangent turns by at most ``max_turn`` radians; then
  h ← min(1.5 h, ``step_max``) when Newton took at most 4 iterations. A failed step is retried with
  h/2; below ``step_min`` the branch stops (status ``step_too_small``).
* ends: a step that leaves [0, s_max] is replaced by the point on the boundary s_b ∈ {0, s_max}
  (Newton on [H(w); s − s_b] = 0 from the linear interpolation) and the branch ends there
  (``amplitude`` at s_max, ``returned`` at 0: then matched to the u = 0 fixed point it returns to);
  it also ends after ``max_steps`` steps (``step_budget``) or when ‖lift(y)‖∞ > ``state_bound``
  (``left_box``). Every start is first polished by Newton at s = 0 (``no_start`` if that fails).

All branches run at once: one step of one branch is a pure function, ``vmap``-ed over the branches
and iterated in a compiled ``lax.while_loop`` (in chunks of ``steps_per_print`` steps when
``verbose``, so that a progress line reaches stderr), in float64.

**Bifurcations**, detected between consecutive points of a branch; J = ∂F/∂x is the Jacobian of the
*full* map at x = lift(y, s·a) (eigenvalues, stability and index come from it):

* ``fold`` (saddle-node): the s-component t_s of the tangent changes sign — equivalently
  det(∂R/∂y), and det(J − I), change sign: a real eigenvalue of J crosses 1;
* ``flip`` (period doubling): det(J + I) changes sign: a real eigenvalue crosses −1;
* ``neimark_sacker``: a complex pair crosses the unit circle: the number of non-real eigenvalues
  with |λ| > 1 changes and the bialternate product det(J⊙J − I) = Π_(i<j) (λ_i λ_j − 1) changes sign.

Each is located by bisection of its test function (t_s; det(J + I); the bialternate product) along
the step: the points w(σ), σ ∈ [0, h], solve the corrector with the constraint tᵀ(w − z) = σ, and
``locate_iters`` halvings put σ within h·2^(−locate_iters) (at a fold s − s* = O(σ − σ*)², so s*
is exact to the corrector's tolerance). A bifurcation records the u = 0 fixed points reached by
following its branch backward (``fixed_point_before``) and forward (``fixed_point_after``) without
passing another fold (−1 where that part of the branch does not return to s = 0): at a fold, the two
fixed points that meet there. ``creates_attractor``: the bifurcation makes a stable fixed point
appear as s grows (a fold whose two pieces exist for s > s*, one of them stable; a flip or
Neimark–Sacker after which, towards larger s, the point is stable).

Shapes: n start points of state size d (reduced size k), m inputs, o outputs, D directions,
B = D·n branches (branch b = direction·n + start), N points on all branches together, q bifurcations.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from functools import partial
from typing import NamedTuple
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .equations import FixedPointEquation, equation_for
from .finder import x64_scope
from .fixed_points import single_thread_blas
from .branches import (AMPLITUDE, KINDS, LEFT_BOX, NO_START, RETURNED, RUNNING, STATUSES, STEP_BUDGET, STEP_TOO_SMALL,
                       Continuation)
from .models import FAST_COMPILE, RNN, readout as rnn_readout
from .polish import chunked
from .settings import from_mapping, setting, validate, values

@dataclasses.dataclass(kw_only=True, frozen=True)
class ContinuationSettings:
    """The settings of `continue_fixed_points` (in the sweep, the config section ``continuation``)."""

    amplitude: float = setting(1.0, "largest input s of the path u = s*a (the pulse amplitude)", gt=0)
    step_init: float = setting(0.01, "first arclength step (at least step_min, at most step_max)", gt=0)
    step_min: float = setting(1e-6, "a branch stops when it needs a step below this", gt=0)
    step_max: float = setting(0.05, "largest arclength step", gt=0)
    max_steps: int = setting(500, "continuation steps per branch at most", ge=1)
    newton_max_iters: int = setting(10, "corrector Newton steps at most", ge=1)
    tol_newton: float = setting(1e-10, "the corrector has converged when the residual norm is at most this", gt=0)
    max_turn: float = setting(0.3, "largest angle (radians) between consecutive tangents", gt=0, lt=math.pi)
    state_bound: float = setting(10.0, "a branch stops when a state coordinate exceeds this in absolute value", gt=0)
    match_tol: float = setting(1e-6, "distance (max norm) within which a branch's end at s = 0 is a u = 0 fixed "
                                     "point", gt=0)
    locate_iters: int = setting(40, "bisection steps per located bifurcation", ge=1)
    steps_per_print: int = setting(50, "steps between progress lines", ge=1)
    verbose: bool = setting(True, "progress lines on stderr")

    def __post_init__(self):
        validate(self)
        if not math.isfinite(self.amplitude) or not math.isfinite(self.step_max):
            raise ValueError(f"amplitude and step_max must be finite, got {self.amplitude!r}, {self.step_max!r}")
        if not self.step_min <= self.step_init <= self.step_max:
            raise ValueError(f"expected step_min <= step_init <= step_max, got {self.step_min!r}, "
                             f"{self.step_init!r}, {self.step_max!r}")


_GROW, _SHRINK, _EASY_NEWTON = 1.5, 0.5, 4   # step control: grow after an easy corrector, halve on failure
_MEMORY_BUDGET = 2 ** 27                     # bytes of Jacobians held at once when evaluating the points
_CHUNK = 256                                 # points per compiled call when evaluating and locating: one shape


def axis_directions(n_inputs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The default directions ±e_k: (vectors [2m, m] in the order +e_0, −e_0, +e_1, …, channel [2m], sign [2m])."""
    channel = np.repeat(np.arange(n_inputs), 2)
    sign = np.tile([1, -1], n_inputs)
    vectors = np.zeros((2 * n_inputs, n_inputs))
    vectors[np.arange(2 * n_inputs), channel] = sign
    return vectors, channel.astype(np.int64), sign.astype(np.int64)


def _direction_labels(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(channel, sign) of each direction: k and ±1 for a positive multiple of ±e_k, else (−1, 0)."""
    channel = np.full(len(vectors), -1, np.int64)
    sign = np.zeros(len(vectors), np.int64)
    for i, v in enumerate(vectors):
        nonzero = np.flatnonzero(v)
        if len(nonzero) == 1:
            channel[i], sign[i] = nonzero[0], np.sign(v[nonzero[0]])
    return channel, sign


# -- one branch: the continuation step ------------------------------------------------------------

def _residual(equation, params, a, z):
    """H(z) = R(params, y, s·a) [k] for z = (y, s) [k+1]."""
    return equation.residual(params, z[:-1], z[-1] * a)


def _residual_and_jacobian(equation, params, a, z):
    """(H(z) [k], DH(z) = [∂R/∂y, ∂R/∂s] [k, k+1])."""

    def value_twice(w):
        h = _residual(equation, params, a, w)
        return h, h

    jac, h = jax.jacfwd(value_twice, has_aux=True)(z)
    return h, jac


def _tangent(jac, t_ref):
    """The unit null vector t of ``jac`` [k, k+1] with t_refᵀ t > 0: [jac; t_refᵀ] t = e_(k+1), normalised."""
    rhs = jnp.zeros(jac.shape[1], jac.dtype).at[-1].set(1.0)
    t = jnp.linalg.solve(jnp.vstack([jac, t_ref[None, :]]), rhs)
    return t / jnp.linalg.norm(t)


def _correct(equation, params, a, w0, normal, level, max_iters, tol):
    """Newton on [H(w); normalᵀw − level] = 0 from w0 [k+1] → (w, iterations, converged: ‖Δw‖∞ ≤ tol)."""

    def cond(carry):
        _, i, size = carry
        return (i < max_iters) & (size > tol)          # a NaN step stops the loop, unconverged

    def body(carry):
        w, i, _ = carry
        h, jac = _residual_and_jacobian(equation, params, a, w)
        delta = jnp.linalg.solve(jnp.vstack([jac, normal[None, :]]), jnp.append(h, normal @ w - level))
        return w - delta, i + 1, jnp.max(jnp.abs(delta))

    w, i, size = jax.lax.while_loop(cond, body, (w0, jnp.int32(0), jnp.asarray(jnp.inf, w0.dtype)))
    return w, i, size <= tol


class _Branch(NamedTuple):
    """The state of one branch: current point z [k+1] and tangent t [k+1], step h, points stored n,
    status, the pending landing on s = s_land (flag, start point z_land), and the stored points and
    tangents [P, k+1]. A branch starts as a landing on s = 0 from its u = 0 fixed point with n = 0."""

    z: jax.Array
    t: jax.Array
    h: jax.Array
    n: jax.Array
    status: jax.Array
    landing: jax.Array
    z_land: jax.Array
    s_land: jax.Array
    zs: jax.Array
    ts: jax.Array


def _initial_state(y_bxk: np.ndarray, n_points: int, step_init: float, active_b: np.ndarray) -> _Branch:
    """Branches about to polish their starts (y, 0) at s = 0 with the tangent oriented towards s > 0;
    an inactive branch (padding) starts finished."""
    B, k = y_bxk.shape
    z = np.concatenate([y_bxk, np.zeros((B, 1))], axis=1)
    e_s = np.zeros((B, k + 1))
    e_s[:, -1] = 1.0
    return _Branch(z=z, t=e_s, h=np.full(B, step_init), n=np.zeros(B, np.int32),
                   status=np.where(active_b, RUNNING, NO_START).astype(np.int32), landing=np.ones(B, bool),
                   z_land=z, s_land=np.zeros(B), zs=np.zeros((B, n_points, k + 1)), ts=np.zeros((B, n_points, k + 1)))


def _in_box(equation, params, a, z, bound):
    return jnp.all(jnp.abs(equation.lift(params, z[:-1], z[-1] * a)) <= bound)


def _advance(equation, params, a, cfg, st: _Branch) -> _Branch:
    """One attempt of one branch: a predictor–corrector step, or the pending landing on a boundary (the
    first: polishing the start at s = 0), accepted or retried with a smaller step; a finished branch is
    returned unchanged."""
    n_points = st.zs.shape[0]
    running = st.status == RUNNING
    starting = st.n == 0
    e_s = jnp.zeros_like(st.z).at[-1].set(1.0)
    w0 = jnp.where(st.landing, st.z_land, st.z + st.h * st.t)
    normal = jnp.where(st.landing, e_s, st.t)
    level = jnp.where(st.landing, st.s_land, st.t @ st.z + st.h)
    w, iters, converged = _correct(equation, params, a, w0, normal, level, cfg["newton_max_iters"],
                                   cfg["tol_newton"])
    _, jac = _residual_and_jacobian(equation, params, a, w)
    t_new = _tangent(jac, st.t)
    ok = converged & jnp.all(jnp.isfinite(t_new)) & (starting | (t_new @ st.t >= cfg["cos_turn"]))
    s_new, s_old = w[-1], st.z[-1]
    cross = ok & ~st.landing & ((s_new > cfg["amplitude"]) | (s_new < 0.0))
    s_bound = jnp.where(s_new > cfg["amplitude"], cfg["amplitude"], 0.0)
    accept = ok & ~cross
    leave = accept & ~_in_box(equation, params, a, w, cfg["state_bound"])
    store = accept & ~leave
    no_start = starting & ~store                              # the start did not converge (or left the box)
    at = jnp.where(running & (store | no_start), st.n, n_points)          # beyond the buffer: dropped
    zs = st.zs.at[at].set(jnp.where(no_start, st.z, w), mode="drop")
    ts = st.ts.at[at].set(jnp.where(no_start, st.t, t_new), mode="drop")
    n = st.n + (store | no_start).astype(jnp.int32)
    failed = ~ok
    h = jnp.where(failed, st.h * _SHRINK,
                  jnp.where(store & ~st.landing & (iters <= _EASY_NEWTON),
                            jnp.minimum(st.h * _GROW, cfg["step_max"]), st.h))
    status = jnp.select(
        [no_start, store & st.landing & ~starting, leave, failed & (h < cfg["step_min"]), store & (n >= n_points)],
        [NO_START, jnp.where(st.s_land > 0.0, AMPLITUDE, RETURNED), LEFT_BOX, STEP_TOO_SMALL, STEP_BUDGET],
        RUNNING).astype(jnp.int32)
    fraction = (s_bound - s_old) / jnp.where(cross, s_new - s_old, 1.0)
    new = _Branch(z=jnp.where(store, w, st.z), t=jnp.where(store, t_new, st.t), h=h, n=n, status=status,
                  landing=cross, z_land=jnp.where(cross, st.z + fraction * (w - st.z), st.z_land),
                  s_land=jnp.where(cross, s_bound, st.s_land), zs=st.zs, ts=st.ts)
    kept = jax.tree_util.tree_map(lambda a_new, a_old: jnp.where(running, a_new, a_old), new, st)
    return kept._replace(zs=zs, ts=ts)        # the buffers: written above only while running


@partial(jax.jit, static_argnums=0, compiler_options=FAST_COMPILE)
def _run_chunk(equation, params, a_bxm, cfg, st: _Branch, it, it_end):
    """Advance every branch until all have ended or ``it_end`` attempts were made → (attempts, state)."""
    advance = jax.vmap(partial(_advance, equation), (None, 0, None, 0))

    def cond(carry):
        i, state = carry
        return (i < it_end) & jnp.any(state.status == RUNNING)

    def body(carry):
        i, state = carry
        return i + 1, advance(params, a_bxm, cfg, state)

    return jax.lax.while_loop(cond, body, (it, st))


# -- the full map at the points: Jacobians, spectra, test functions ----------------------------

def _state_and_jacobian(equation, params, y, u):
    """(x = lift(y, u) [d], J = ∂F/∂x of the full map at x [d, d])."""
    x = equation.lift(params, y, u)
    return x, jax.jacfwd(equation.step, argnums=1)(params, x, u)


@partial(jax.jit, static_argnums=(0, 1), compiler_options=FAST_COMPILE)
def _evaluate(equation, readout, params, y_nxk, u_nxm):
    """(x = lift(y, u) [n, d], J = ∂F/∂x at x [n, d, d], readout [n, o] or an empty [n, 0])."""

    def one(y, u):
        x, J = _state_and_jacobian(equation, params, y, u)
        out = readout(params, x) if readout is not None else jnp.zeros(0, x.dtype)
        return x, J, out

    return jax.vmap(one)(y_nxk, u_nxm)


def spectrum(J_nxdxd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues of a batch of Jacobians sorted by |λ| descending [n, d] (complex), is_stable [n]
    (max|λ| < 1) and n_unstable [n] (#|λ| > 1, the index)."""
    J = np.asarray(J_nxdxd, np.float64)
    if J.shape[0] == 0:
        return np.zeros(J.shape[:2], np.complex128), np.zeros(0, bool), np.zeros(0, np.int64)
    with single_thread_blas():
        eigval = np.linalg.eigvals(J).astype(np.complex128)
    eigval = np.take_along_axis(eigval, np.argsort(-np.abs(eigval), axis=1, kind="stable"), axis=1)
    modulus = np.abs(eigval)
    return eigval, modulus[:, 0] < 1.0, np.sum(modulus > 1.0, axis=1).astype(np.int64)


def _bialternate_sign(eigval):
    """Sign of Π_(i<j) (λ_i λ_j − 1) = det(J⊙J − I), real for a real J: the sign of the cosine of the sum
    of the factors' angles (numpy for a numpy array, else JAX)."""
    xp = np if isinstance(eigval, np.ndarray) else jnp
    i, j = np.triu_indices(eigval.shape[-1], 1)
    return xp.sign(xp.cos(xp.sum(xp.angle(eigval[..., i] * eigval[..., j] - 1.0), axis=-1)))


def _test_function(equation, kind, params, a, z, t_ref):
    """The test function of a bifurcation ``kind`` at z [k+1] (its sign changes at the bifurcation)."""
    if kind == "fold":
        _, jac = _residual_and_jacobian(equation, params, a, z)
        return _tangent(jac, t_ref)[-1]
    _, J = _state_and_jacobian(equation, params, z[:-1], z[-1] * a)
    if kind == "flip":
        return jnp.linalg.slogdet(J + jnp.eye(J.shape[0], dtype=J.dtype))[0]
    return _bialternate_sign(jnp.linalg.eigvals(J))


@partial(jax.jit, static_argnums=(0, 1, 2), compiler_options=FAST_COMPILE)
def _locate(equation, kind, n_halvings, params, a_qxm, z_qxk1, t_qxk1, h_q, *, cfg):
    """Bisection of the test function of ``kind`` along each step z → z + (σ ≤ h) → (z* [q, k+1], σ* [q])."""

    def one(a, z, t, h):
        def point(sigma):
            w, _, _ = _correct(equation, params, a, z + sigma * t, t, t @ z + sigma, cfg["newton_max_iters"],
                               cfg["tol_newton"])
            return w

        g0 = jnp.sign(_test_function(equation, kind, params, a, z, t))

        def halve(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            same = jnp.sign(_test_function(equation, kind, params, a, point(mid), t)) == g0
            return jnp.where(same, mid, lo), jnp.where(same, hi, mid)

        lo, hi = jax.lax.fori_loop(0, n_halvings, halve, (jnp.zeros_like(h), h))
        sigma = 0.5 * (lo + hi)
        return point(sigma), sigma

    return jax.vmap(one)(a_qxm, z_qxk1, t_qxk1, h_q)


# -- the result --------------------------------------------------------------------------------

# -- the public entry point ----------------------------------------------------------------------

def _system(system, params, readout):
    """(equation, params, readout fn or None, n_inputs or None) of an RNN or a FixedPointEquation."""
    if isinstance(system, RNN):
        return equation_for(system.rnn_type), dict(system.params), rnn_readout, system.n_inputs
    if isinstance(system, FixedPointEquation):
        return system, ({} if params is None else params), readout, None
    raise ValueError(f"system must be a fixedpoints.RNN or a FixedPointEquation (e.g. "
                     f"fixedpoints.equations.map_equation(step)), got {type(system).__name__}")


def continue_fixed_points(system, fixed_points, directions=None, *, params=None,
                          readout: Callable | None = None, **options) -> Continuation:
    """Follow every fixed point of u = 0 along u(s) = s·a for each direction a, s ∈ [0, amplitude].

    ``system``: an `RNN` (its cell's reduced equation, its weights and its readout h @ w_out + b_out)
    or a `FixedPointEquation` (e.g. ``map_equation(step)`` for any F(params, x[d], u[m]) -> x'[d]) with
    its ``params`` pytree and an optional ``readout(params, x[d]) -> [o]``. ``fixed_points``: a
    `FixedPoints` (its ``xstar``) or an array [n, d] of full states at u = 0. ``directions``: [D, m]
    (rows a), default ±e_k for every input k (+e_0, −e_0, +e_1, …). ``options``: any field of `ContinuationSettings`.
    Returns a `Continuation` with n·D branches, their points, spectra and the located bifurcations.
    """
    settings = values(from_mapping(ContinuationSettings, options, "continuation"))
    start_time = time.perf_counter()
    equation, params, readout_fn, n_inputs = _system(system, params, readout)
    xstar = np.asarray(getattr(fixed_points, "xstar", fixed_points), np.float64)
    if xstar.ndim != 2:
        raise ValueError(f"fixed_points must be a FixedPoints or an array [n, d], got shape {xstar.shape}")
    if not np.all(np.isfinite(xstar)):
        raise ValueError("fixed_points contain NaN or inf")
    if directions is None:
        if n_inputs is None:
            inputs = getattr(fixed_points, "inputs", None)
            if inputs is None:
                raise ValueError("directions [D, m] are needed when neither an RNN nor FixedPoints with inputs "
                                 "tells the number of inputs")
            n_inputs = np.shape(inputs)[1]
        vectors, channel, sign = axis_directions(n_inputs)
    else:
        vectors = np.asarray(directions, np.float64)
        if vectors.ndim != 2 or vectors.shape[0] == 0 or (n_inputs is not None and vectors.shape[1] != n_inputs):
            raise ValueError(f"directions must have shape [D>0, {n_inputs or 'm'}], got {vectors.shape}")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("directions contain NaN or inf")
        channel, sign = _direction_labels(vectors)
    log = (lambda text: print(text, file=sys.stderr, flush=True)) if settings["verbose"] else (lambda text: None)
    with x64_scope():
        # numpy converted, then put on the device: converting JAX arrays outside a compiled function compiles
        params64 = jax.device_put(jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), params))
        y0 = np.asarray(equation.reduce(jax.device_put(xstar)), np.float64) if len(xstar) else xstar
        n, D = len(xstar), len(vectors)
        try:
            jax.eval_shape(equation.residual, params64, jax.ShapeDtypeStruct((y0.shape[1],), jnp.float64),
                           jax.ShapeDtypeStruct((vectors.shape[1],), jnp.float64))
        except Exception as error:   # a model that cannot take these shapes
            raise ValueError(f"the system cannot map a state [{xstar.shape[1]}] and input [{vectors.shape[1]}]: "
                             f"{' '.join(str(error).split())[:300]}") from None
        cfg = {key: np.float64(settings[key]) for key in
               ("amplitude", "step_init", "step_min", "step_max", "tol_newton", "state_bound")}
        cfg["newton_max_iters"] = np.int32(settings["newton_max_iters"])
        cfg["cos_turn"] = np.float64(math.cos(settings["max_turn"]))
        a_bxm = np.repeat(vectors, n, axis=0)
        branch_start = np.tile(np.arange(n), D)
        branch_direction = np.repeat(np.arange(D), n)
        log(f"continuation: {n * D} branches ({n} fixed points x {D} directions), s in [0, {settings['amplitude']}]")
        branches = _follow(equation, params64, a_bxm, y0[branch_start], cfg, settings, log)
        result = _assemble(equation, readout_fn, params64, n, (vectors, channel, sign), a_bxm, branch_start,
                           branch_direction, branches, cfg, settings)
    result.attrs.update({**{k: v for k, v in settings.items() if k != "verbose"},
                         "wall_s": time.perf_counter() - start_time})
    kinds = result.bifurcations["kind"]
    counts = ", ".join(f"{np.sum(kinds == kind)} {kind}" for kind in KINDS)
    ends = ", ".join(f"{np.sum(result.branch_status == name)} {name}" for name in STATUSES[1:])
    log(f"continuation: done in {result.attrs['wall_s']:.2f} s; branches ended: {ends}; bifurcations: {counts}")
    return result


def _padded(n: int) -> int:
    """Batch size for n rows: the next of 8, 12, 16, 24, 32, 48, … (2^i and 1.5·2^i), so that runs with
    similar numbers of fixed points share compiled programs (and JAX's persistent compilation cache)."""
    power = 1 << max(3, (int(n) - 1).bit_length())
    return power * 3 // 4 if n <= power * 3 // 4 and power > 8 else power


def _follow(equation, params, a_bxm, y_bxk, cfg, settings, log):
    """Run the continuation of all branches → host arrays (zs [B, P, k+1], ts, n [B], status [B])."""
    B, k = y_bxk.shape
    n_points = int(settings["max_steps"]) + 1
    if B == 0:
        empty = np.zeros((0, n_points, k + 1))
        return empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64)
    B_pad = _padded(B)

    def pad(rows):
        return np.concatenate([rows, np.repeat(rows[:1], B_pad - B, axis=0)])

    a_pad = jnp.asarray(pad(a_bxm), jnp.float64)
    state = _initial_state(pad(y_bxk), n_points, settings["step_init"], np.arange(B_pad) < B)
    chunk = int(settings["steps_per_print"]) if settings["verbose"] else 2 ** 30
    it, start = 0, time.perf_counter()
    while True:
        it_end = jnp.int32(min(it + chunk, 2 ** 31 - 1))
        it, state = _run_chunk(equation, params, a_pad, cfg, state, jnp.int32(it), it_end)
        it = int(it)
        status = np.asarray(state.status)[:B]
        running = status == RUNNING
        s_now, points = np.asarray(state.z)[:B][running, -1], int(np.sum(np.asarray(state.n)[:B]))
        s_range = f"[{s_now.min():.3f}, {s_now.max():.3f}]" if len(s_now) else "-"
        log(f"  step {it:5d}: {int(np.sum(running))}/{B} branches running (s in {s_range}), {points} points, "
            f"{time.perf_counter() - start:.2f} s")
        if not running.any():
            break
    return (np.asarray(state.zs)[:B], np.asarray(state.ts)[:B], np.asarray(state.n, np.int64)[:B],
            status.astype(np.int64))


def _assemble(equation, readout_fn, params, n, directions, a_bxm, branch_start, branch_direction, branches, cfg,
              settings) -> Continuation:
    """The branches' points with their spectra, the bifurcations located, the ends matched."""
    zs, ts, n_per, status = branches
    B = len(n_per)
    offsets = np.concatenate([[0], np.cumsum(n_per)]).astype(np.int64)
    keep = np.arange(zs.shape[1])[None, :] < n_per[:, None]
    z, tangent = zs[keep], ts[keep]                   # [N, k+1], branch-major
    point_branch = np.repeat(np.arange(B), n_per)
    x, J, out = _evaluate_points(equation, readout_fn, params, z[:, :-1], z[:, -1:] * a_bxm[point_branch])
    eigval, is_stable, n_unstable = spectrum(J)
    first = offsets[:n]                               # branch b < n: the polished start b, first direction
    branch_end = _match_ends(x, offsets, status, x[first], settings["match_tol"])
    bif = _bifurcations(equation, params, a_bxm, z, tangent, J, eigval, n_unstable, point_branch, branch_start,
                        status, branch_end, readout_fn, cfg, settings)
    return Continuation(
        *directions, start_x=x[first], start_eigenvalues=eigval[first], start_is_stable=is_stable[first],
        start_n_unstable=n_unstable[first], start_readout=out[first] if readout_fn is not None else None,
        branch_start=branch_start.astype(np.int64), branch_direction=branch_direction.astype(np.int64),
        branch_status=np.array([STATUSES[i] for i in status], "<U16").reshape(B), branch_end=branch_end,
        offsets=offsets, s=z[:, -1].copy(), x=x, tangent_s=tangent[:, -1].copy(), eigenvalues=eigval,
        is_stable=is_stable, n_unstable=n_unstable, readout=out if readout_fn is not None else None,
        bifurcations=bif, attrs={})


def _evaluate_points(equation, readout_fn, params, y_nxk, u_nxm):
    """(x [N, d], J [N, d, d], readout [N, o]) in chunks that keep the Jacobians within the memory budget."""
    N = len(y_nxk)
    d = int(jax.eval_shape(partial(equation.lift, params), jnp.zeros(y_nxk.shape[1]),
                           jnp.zeros(u_nxm.shape[1])).shape[0])
    if N == 0:
        o = 0 if readout_fn is None else int(jax.eval_shape(readout_fn, params, jnp.zeros(d)).shape[0])
        return np.zeros((0, d)), np.zeros((0, d, d)), np.zeros((0, o))
    chunk = max(1, min(_CHUNK, _MEMORY_BUDGET // (8 * d * d)))
    return chunked(lambda y, u: _evaluate(equation, readout_fn, params, y, u), N, chunk, y_nxk, u_nxm)


def _match_ends(x, offsets, status, start_x, tol):
    """For each branch that returned to s = 0: the u = 0 fixed point (row of start_x) within ``tol``
    (‖·‖∞) of its last point, the nearest if several; −1 otherwise."""
    end = np.full(len(status), -1, np.int64)
    returned = np.flatnonzero(status == RETURNED)
    if len(returned) and len(start_x):
        last = x[offsets[returned + 1] - 1]
        distance = np.max(np.abs(last[:, None, :] - start_x[None, :, :]), axis=2)
        nearest = np.argmin(distance, axis=1)
        end[returned] = np.where(distance[np.arange(len(returned)), nearest] <= tol, nearest, -1)
    return end


def _empty_bifurcations(d: int, o: int | None) -> dict:
    z = np.zeros
    return {"branch": z(0, np.int64), "point": z(0, np.int64), "kind": z(0, "<U16"), "s": z(0), "x": z((0, d)),
            "eigenvalues": z((0, d), complex), "readout": None if o is None else z((0, o)),
            "fixed_point_before": z(0, np.int64), "fixed_point_after": z(0, np.int64), "creates_attractor": z(0, bool)}


def _detect(z, tangent, J, eigval, point_branch) -> dict:
    """{kind: indices i [q_kind] of the points after which (between i and i+1, same branch) its test
    function changes sign}."""
    N, d = J.shape[0], J.shape[1]
    if N < 2:
        return {kind: np.zeros(0, np.int64) for kind in KINDS}
    i = np.flatnonzero(point_branch[:-1] == point_branch[1:])
    j = i + 1
    with single_thread_blas():
        flip_sign = np.linalg.slogdet(J + np.eye(d))[0]
    ns_sign = _bialternate_sign(eigval)
    complex_out = np.sum((eigval.imag != 0) & (np.abs(eigval) > 1.0), axis=1)
    return {"fold": i[tangent[i, -1] * tangent[j, -1] < 0],
            "flip": i[flip_sign[i] * flip_sign[j] < 0],
            "neimark_sacker": i[(ns_sign[i] * ns_sign[j] < 0) & (complex_out[i] != complex_out[j])]}


def _bifurcations(equation, params, a_bxm, z, tangent, J, eigval, n_unstable, point_branch, branch_start,
                  status, branch_end, readout_fn, cfg, settings) -> dict:
    """Detect the bifurcations between consecutive points of each branch, locate them, and link them to the
    u = 0 fixed points (see the module docstring)."""
    d = J.shape[1]
    o = None if readout_fn is None else int(jax.eval_shape(readout_fn, params, jnp.zeros(d)).shape[0])
    found = []   # (point index i, σ*, kind, z*)
    for kind, at in _detect(z, tangent, J, eigval, point_branch).items():
        if len(at):
            h = np.einsum("qi,qi->q", tangent[at], z[at + 1] - z[at])
            locate = partial(_locate, equation, kind, int(settings["locate_iters"]), params, cfg=cfg)
            z_star, sigma = chunked(locate, len(at), _CHUNK, a_bxm[point_branch[at]], z[at], tangent[at], h)
            found += list(zip(at.tolist(), np.asarray(sigma).tolist(), [kind] * len(at), np.asarray(z_star)))
    if not found:
        return _empty_bifurcations(d, o)
    found.sort(key=lambda row: row[:2])                 # by branch (points are branch-major), then arclength
    at = np.array([row[0] for row in found], np.int64)
    kind = np.array([row[2] for row in found], "<U16")
    z_star = np.array([row[3] for row in found], np.float64)
    branch = point_branch[at]
    x_star, J_star, out = _evaluate_points(equation, readout_fn, params, z_star[:, :-1],
                                           z_star[:, -1:] * a_bxm[branch])
    # the u = 0 fixed points reached backward / forward without passing another fold
    is_fold = kind == "fold"
    folds_before, folds_after = np.zeros(len(at), np.int64), np.zeros(len(at), np.int64)
    for b in np.unique(branch):
        rows = np.flatnonzero(branch == b)
        cumulative = np.cumsum(is_fold[rows])
        folds_before[rows] = cumulative - is_fold[rows]
        folds_after[rows] = cumulative[-1] - cumulative
    before = np.where((folds_before == 0) & (status[branch] != NO_START), branch_start[branch], -1)
    after = np.where(folds_after == 0, branch_end[branch], -1)
    # an attractor appears as s grows: a fold whose pieces exist for s > s*, one of them stable, or a
    # flip / Neimark–Sacker with the stable side towards larger s
    nu_i, nu_j, s_i, s_j = n_unstable[at], n_unstable[at + 1], z[at, -1], z[at + 1, -1]
    born = (tangent[at, -1] < 0) & (np.minimum(nu_i, nu_j) == 0)
    upper_stable = np.where(s_j > s_i, nu_j == 0, nu_i == 0) & (np.maximum(nu_i, nu_j) > 0)
    return {"branch": branch.astype(np.int64), "point": at, "kind": kind, "s": z_star[:, -1].copy(), "x": x_star,
            "eigenvalues": spectrum(J_star)[0], "readout": out if o is not None else None,
            "fixed_point_before": before.astype(np.int64), "fixed_point_after": after.astype(np.int64),
            "creates_attractor": np.where(is_fold, born, upper_stable).astype(bool)}

