"""`FixedPointFinder`: the fixed points x* = F(x*, u) of a recurrent map, and its slow points.

Method (Sussillo & Barak 2013; Golub & Sussillo 2018, "FixedPointFinder", JOSS 3(31):1003), as a
chain of named stages, each a method of the finder:

1. `prepare`: starts x₀ are states sampled from trajectories plus Gaussian noise (or given), with
   one constant input per start.
2. `optimize`: minimise q(x) = ½‖F(x, u) − x‖² with Adam from every start (`fixedpoints.optimization`:
   ``joint`` one optimiser on the mean q, ``sequential`` one per start; every start stops on its own:
   q < tol_q, |Δq| < tol_dq·lr, or a stall).
3. `candidates`: group the results within ``tol_unique`` (lowest q first), drop outliers (a built-in cell's
   candidates whose h lies outside the box (−1, 1)^n that holds every fixed point; a user map's farther
   than ``outlier_distance_scale`` · mean ‖x₀ − c‖ from c, the centroid of the starts), optionally
   optimise q outliers again, keep at most ``max_n_unique``; then `polish` each group's best member.
   Grouping never merges roots: a member whose distance to its group's polished root is not explained by
   Newton's linearisation (‖y − y*‖ > 3‖R(y)‖/σ_min + r, see `fixedpoints.polish`) is polished on its own.
4. `polish`: damped Newton on the cell's reduced fixed-point equation R(y, u) = 0 (`fixedpoints.equations`:
   GRU n(h) = h, LSTM with c eliminated, else F(x) − x), lift y to the full state x*, and classify: a
   *fixed point* converged (‖R‖ ≤ ``tol_newton``), has q ≤ ``final_q_threshold`` and is isolated
   (σ_min(∂R/∂y) ≥ ``tol_isolated``); a *marginal* point converged but is not isolated; the rest are
   *slow* candidates, kept as slow points when their q ≤ ``tol_q`` (the dynamics is slow there, but
   no root is). Converged points are one root only when Newton takes them to the same root
   (`fixedpoints.polish.root_radius`), never because they lie within ``tol_unique``.
5. `complete`: more starts at the midpoints of every pair of attractors found (the centre of a face of
   the attractor hypercube, where saddles sit) and uniformly in the box that holds every fixed point
   (a built-in cell's h ∈ (−1, 1)^n, lifted; for a user's map the bounding box of the trajectories),
   repeated while new attractors appear.
6. `analyse`: Jacobians J = ∂F/∂x and ∂F/∂u of the *full* map at every point (``jit(vmap(jacfwd))``),
   eigenvalues sorted by |λ| descending, ``is_stable`` = max|λ| < 1, ``n_unstable`` = #{|λ| > 1}.

`find_fixed_points` runs them and returns the seed's ``(unique_fps, all_fps)``; the whole result,
slow points included, is `FixedPointFinder.result` (a `FinderResult`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import polish
from .equations import FixedPointEquation, ModelStep, ResidualStep, equation_for, map_equation
from .fixed_points import FixedPoints, cluster_labels, representatives, single_thread_blas
from .models import RNN
from .optimization import Hyper, bucket, evaluate, optimize
from .settings import setting, settings_doc, validate, values


def x64_scope():
    """A context in which JAX computes in 64 bits (``jax.enable_x64``; older JAX: ``jax.experimental``)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64   # pragma: no cover  (jax < 0.7)
    return enable_x64()


@dataclasses.dataclass(kw_only=True)
class FinderSettings:
    """Every setting of the fixed-point search: the seed tutorial's finder's arguments with the same
    meanings, and this project's additions (stall stop, polish, isolation, completeness starts)."""

    method: str = setting("joint", "optimise all starts jointly (one Adam state on the mean q) or each on its own",
                          choices=("joint", "sequential"))
    max_iters: int = setting(5000, "optimisation steps at most", ge=1)
    tol_q: float = setting(1e-4, "a start stops once its q is below this", ge=0)
    tol_dq: float = setting(1e-16, "a start stops once |dq| is below this times the learning rate", ge=0)
    lr_init: float = setting(0.02, "initial learning rate of the q optimisation", gt=0)
    lr_factor: float = setting(0.95, "the adaptive learning rate is multiplied by this when q rises "
                                     "(divided when q keeps falling)", gt=0, le=1)
    lr_patience: int = setting(5, "steps of rising or steadily falling objective before the learning rate changes",
                               ge=1)
    lr_cooldown: int = setting(0, "steps after a learning-rate change before the next one", ge=0)
    stall_window: int = setting(100, "a start stops when its q did not halve over a window of this many steps, or "
                                     "would not reach tol_q before max_iters at that rate (0: never)", ge=0)
    do_compute_jacobians: bool = setting(True, "compute the Jacobians dF/dx and dF/du at the fixed points")
    do_decompose_jacobians: bool = setting(True, "eigen-decompose dF/dx at the fixed points (stability, saddle index)")
    tol_unique: float = setting(1e-2, "candidates within this distance are grouped before polishing "
                                      "(distinct roots are never merged by it)", gt=0)
    do_exclude_distance_outliers: bool = setting(True, "drop candidates that cannot be fixed points: a cell's "
                                                       "outside h in [-1, 1]^n, a user map's far from the starts")
    outlier_distance_scale: float = setting(10.0, "a user map's candidate farther from the starts' centroid than "
                                                  "this times their mean distance to it is an outlier", gt=0)
    do_rerun_q_outliers: bool = setting(False, "optimise the starts whose q is far above the median again")
    outlier_q_scale: float = setting(10.0, "a q outlier has q above this times the median q", gt=0)
    max_n_unique: float = setting(math.inf, "polish at most this many candidates, lowest q first (.inf: all)",
                                  kind="int", ge=1, infinite=True)
    final_q_threshold: float = setting(1e-6, "a fixed point has q at most this", ge=0)
    dtype: str = setting("float32", "floating-point type of the search", choices=("float32", "float64"))
    random_seed: int = setting(0, "seed of the sampled starts", ge=0)
    verbose: bool = setting(True, "progress lines on stderr")
    super_verbose: bool = setting(False, "also the number of candidates after every stage")
    n_iters_per_print_update: int = setting(100, "optimisation steps between progress lines", ge=1)
    adam_eps: float = setting(1e-8, "epsilon of Adam", gt=0)
    do_adaptive_clipping: bool = setting(True, "clip gradients at a running percentile of their norms")
    clip_percentile: float = setting(95.0, "percentile of the adaptive clipping", gt=0, le=100)
    clip_window: int = setting(128, "steps in the window of the adaptive clipping", ge=1)
    do_polish: bool = setting(True, "polish candidates by Newton steps on the cell's reduced fixed-point equation")
    newton_max_iters: int = setting(30, "Newton steps at most", ge=0)
    tol_newton: float | None = setting(None, "Newton has converged when the residual norm is at most this "
                                             "(null: 1e-5 for float32, 1e-10 for float64)",
                                       kind="float", gt=0, nullable=True)
    tol_isolated: float = setting(1e-3, "a root is isolated when the smallest singular value of the reduced "
                                        "Jacobian is at least this", ge=0)
    do_completeness_starts: bool = setting(True, "after the search, more starts between and around the "
                                                 "attractors found")
    do_deflation: bool = setting(True, "look for a distinct root next to every fixed point found (Newton on the "
                                       "deflated equation)")
    n_box_inits: int = setting(256, "completeness starts drawn uniformly where every fixed point lies (a cell's h "
                                    "in (-1, 1)^n; a user map's state box)", ge=0)
    max_pair_inits: int = setting(4096, "completeness starts at midpoints of pairs of attractors, at most", ge=0)
    max_completeness_rounds: int = setting(3, "rounds of completeness starts at most", ge=0)

    def __post_init__(self):
        validate(self)


@dataclasses.dataclass(kw_only=True, frozen=True)
class SearchSettings:
    """The sampling arguments of `FixedPointFinder.find_fixed_points`."""

    n_inits: int = setting(1024, "starts sampled from the state trajectories", ge=1)
    noise_scale: float = setting(0.4, "standard deviation of the Gaussian noise added to the starts", ge=0)

    def __post_init__(self):
        validate(self)


SEARCH_DEFAULTS = SearchSettings()
POLISH_FIRST = 256
"""With more than twice this many groups of optimised starts, `FixedPointFinder.candidates` polishes the
POLISH_FIRST groups of lowest q (and every group with q > tol_q) first, and the other groups only where
the roots found do not explain them."""


@dataclasses.dataclass
class FinderResult:
    """What a search found: ``fixed_points`` (isolated, polished, with Jacobians), ``slow_points`` (slow
    and marginal candidates, with their certificate and eigenvalues), ``all_fps`` (the optimiser's
    result for every start, completeness starts included), ``lr_final`` (the last learning rate(s):
    [1] joint, [n] sequential) and ``wall_s``."""

    fixed_points: FixedPoints
    slow_points: FixedPoints
    all_fps: FixedPoints
    lr_final: np.ndarray
    wall_s: float


class Problem(NamedTuple):
    """A checked search problem: starts x0 [n, d], inputs u [n, m], labels cond_ids [n] or None, the
    starts' centroid [d] and mean distance to it, the trajectories' bounding box lo, hi [d], and the scale
    that σ_min is measured against (1 for a built-in cell's reduced equation; for a user's map the median
    ‖J − I‖₂ over the trajectory states)."""

    x0: np.ndarray
    u: np.ndarray
    cond_ids: np.ndarray | None
    center: np.ndarray
    mean_dist: float
    lo: np.ndarray
    hi: np.ndarray
    scale: float


@dataclasses.dataclass(eq=False, repr=False)
class FixedPointFinder(FinderSettings):
    """Find, polish and classify the fixed points and slow points of a recurrent map.

    ``rnn`` is a `fixedpoints.RNN` (tanh, gru, lstm) or any JAX-traceable callable with the seed's
    contract ``model(inputs[n,1,m], hidden[n,d]) -> (outputs, h_next)``; every other argument is a
    keyword setting (below). ``find_fixed_points`` runs the stages of the module docstring and returns
    ``(unique_fps, all_fps)``; afterwards ``result`` holds the whole `FinderResult`, and ``slow_fps``
    and ``lr_final`` are views of it.

    For a user's callable the fixed-point equation is F(x) − x itself, and isolation is judged relative to
    the map's own scale: σ_min(J − I) divided by the median ‖J − I‖₂ over the trajectory states. A map that
    is slow everywhere (a gate saturated on all the states it visits) keeps isolated roots; a gate that
    saturates only at a fixed point still makes that point look marginal there — for the built-in cells
    the reduced equations have no such limit.

    Settings (name = default: meaning (constraint)):
    """

    rnn: Any

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.rnn, RNN):
            self.equation: FixedPointEquation = equation_for(self.rnn.rnn_type)
            self._params = dict(self.rnn.params)
        elif callable(self.rnn):
            self.equation = map_equation(ModelStep(self.rnn))
            self._params = {}
        else:
            raise ValueError(f"rnn must be a fixedpoints.RNN or a callable model(inputs, hidden), got "
                             f"{type(self.rnn).__name__}")
        self.result: FinderResult | None = None
        self._opt_size = 0

    def __repr__(self) -> str:
        return f"FixedPointFinder({self.rnn!r}, method={self.method!r}, dtype={self.dtype!r})"

    # -- views ----------------------------------------------------------------------------------------
    @property
    def slow_fps(self) -> FixedPoints | None:
        """The slow and marginal candidates of the last search (None before one)."""
        return None if self.result is None else self.result.slow_points

    @property
    def lr_final(self) -> np.ndarray | None:
        """The learning rate(s) at the end of the last optimisation ([1] joint, [n] sequential)."""
        return None if self.result is None else self.result.lr_final

    @property
    def newton_tolerance(self) -> float:
        """``tol_newton``, or its dtype's default: 1e-5 for float32, 1e-10 for float64."""
        if self.tol_newton is not None:
            return float(self.tol_newton)
        return 1e-5 if self.dtype == "float32" else 1e-10

    def hyperparameters(self) -> dict:
        """The settings as HDF5-storable attributes (``tol_newton`` resolved)."""
        return {**values(self), "tol_newton": self.newton_tolerance}

    # -- helpers --------------------------------------------------------------------------------------
    def _precision(self):
        return x64_scope() if self.dtype == "float64" else contextlib.nullcontext()

    @property
    def _dtype(self):
        return jnp.float64 if self.dtype == "float64" else jnp.float32

    def _log(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def _params_in_dtype(self):
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, self._dtype), self._params)

    # -- stage 1: the problem -------------------------------------------------------------------------
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

    def prepare(self, state_traj=None, inputs=None, n_inits: int = SEARCH_DEFAULTS.n_inits,
                noise_scale: float = SEARCH_DEFAULTS.noise_scale, valid_bxt=None, cond_ids=None,
                initial_states=None) -> Problem:
        """Check the arguments of `find_fixed_points` and build the starts; ValueError names what is wrong."""
        if state_traj is None and initial_states is None:
            raise ValueError("find_fixed_points needs state_traj or initial_states")
        if initial_states is not None:
            x0 = np.asarray(initial_states, np.float64)
            if x0.ndim != 2 or x0.shape[0] == 0:
                raise ValueError(f"initial_states must have shape [n>0, d], got {x0.shape}")
        else:
            SearchSettings(n_inits=n_inits, noise_scale=noise_scale)      # validates both
            traj = np.asarray(state_traj, np.float64)
            if traj.ndim not in (2, 3) or traj.size == 0:
                raise ValueError(f"state_traj must have shape [trials, time, d], got {traj.shape}")
            x0 = self.sample_inits(traj, int(n_inits), float(noise_scale), valid_bxt)
        n, d = x0.shape
        if isinstance(self.rnn, RNN) and d != self.rnn.state_size:
            raise ValueError(f"states have size {d}, but the network's state size is {self.rnn.state_size}")
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
        states = np.asarray(state_traj, np.float64).reshape(-1, d) if state_traj is not None else x0
        if not (np.all(np.isfinite(x0)) and np.all(np.isfinite(u)) and np.all(np.isfinite(states))):
            raise ValueError("state_traj, initial_states and inputs must be finite")
        with self._precision():
            try:
                jax.eval_shape(self.equation.step, self._params_in_dtype(), jax.ShapeDtypeStruct((d,), self._dtype),
                               jax.ShapeDtypeStruct((u.shape[1],), self._dtype))
            except Exception as error:  # a model that cannot take these shapes
                raise ValueError(f"the model cannot map a state [{d}] and input [{u.shape[1]}] to a state: "
                                 f"{' '.join(str(error).split())[:300]}") from None
        center = x0.mean(axis=0)
        mean_dist = float(np.mean(np.linalg.norm(x0 - center, axis=1))) or 1.0
        lo, hi = states.min(axis=0), states.max(axis=0)
        pad = 0.05 * (hi - lo) + 1e-3
        scale = 1.0 if self.equation.reduced or isinstance(self.rnn, RNN) else self._map_scale(states, u[0])
        return Problem(x0, u, None if cond_ids is None else np.asarray(cond_ids, np.int64), center, mean_dist,
                       lo - pad, hi + pad, scale)

    def _map_scale(self, states_sxd: np.ndarray, u_m: np.ndarray, n_max: int = 256) -> float:
        """The median of ‖J − I‖₂ over (at most ``n_max`` evenly spaced) states: the map's own scale."""
        pick = states_sxd[np.linspace(0, len(states_sxd) - 1, min(n_max, len(states_sxd))).astype(int)]
        with self._precision():
            params, dtype = self._params_in_dtype(), self._dtype
            J, _ = polish.chunked(lambda a, b: polish.full_jacobians(self.equation.step, params, a, b), len(pick),
                                  polish.chunk_rows(pick.shape[1]), pick.astype(dtype),
                                  np.broadcast_to(u_m, (len(pick), len(u_m))).astype(dtype))
        norms = polish.singular_values(J - np.eye(pick.shape[1]))[:, 0]
        return float(np.median(norms)) or 1.0

    # -- stage 2: optimisation ------------------------------------------------------------------------
    def optimize(self, x0_nxd: np.ndarray, u_nxm: np.ndarray, label: str) -> FixedPoints:
        """Adam from every start (joint or sequential) → the raw result per start, lifted to full states, with
        F and q = ½‖F(x) − x‖² of the full map at the end.

        The objective is q of the full map for tanh and a user's map (the seed's), and ½‖R(y)‖² of the
        reduced equation for a gated cell (`equations.ResidualStep`): where a gate saturates, the full map's q
        is tiny everywhere (F − x = (1 − z)(n − h)) and gives the optimiser no direction to the roots."""
        eq = self.equation
        reduced = eq.reduced
        y0 = np.asarray(eq.reduce(x0_nxd), np.float64) if reduced else x0_nxd
        n, k = y0.shape
        if n == 0:
            d = x0_nxd.shape[1]
            return FixedPoints(np.zeros((0, d)), np.zeros((0, d)), u_nxm[:0], np.zeros((0, d)), np.zeros(0),
                               np.zeros(0), np.zeros(0, np.int64), tol_unique=self.tol_unique)
        # pad to a bucket size (padding rows start stopped), reusing the first call's size when cheap
        n_pad = bucket(n, k)
        if self._opt_size and n <= self._opt_size and self._opt_size * k <= 2 ** 16:
            n_pad = self._opt_size
        self._opt_size = self._opt_size or n_pad
        dtype, params = self._dtype, self._params_in_dtype()
        hyper = Hyper(*(np.asarray(getattr(self, name), dtype) for name in Hyper._fields))  # same names
        self._log(f"{label}: optimizing {n} starts ({self.method}).")
        out = optimize(ResidualStep(eq.residual) if reduced else eq.step, params, y0, u_nxm, method=self.method,
                       n_pad=n_pad, lr_init=self.lr_init, lr_patience=self.lr_patience, clip_window=self.clip_window,
                       adam_eps=float(self.adam_eps), adaptive_clip=bool(self.do_adaptive_clipping), hyper=hyper,
                       max_iters=int(self.max_iters),
                       chunk=int(self.n_iters_per_print_update) if self.verbose else int(self.max_iters),
                       verbose=self.verbose, dtype=dtype)
        self._last_lr = out.lr_final
        x = out.x
        if reduced:
            x = self._lift(out.x, u_nxm, n_pad)
            x = np.where(np.isfinite(x), x, x0_nxd.astype(x.dtype))     # a lift that overflowed keeps the start
        F, q = polish.chunked(lambda a, b: evaluate(eq.step, params, a, b), n, n_pad, x.astype(dtype),
                              u_nxm.astype(dtype))
        self._log(f"  optimization stopped after {out.iterations} iterations "
                  f"({'every start stopped' if out.all_stopped else 'max_iters reached'}).")
        return FixedPoints(x, x0_nxd, u_nxm, F, q, out.dq, out.n_iters, tol_unique=self.tol_unique)

    def _outliers(self, x_nxd: np.ndarray, problem: Problem) -> np.ndarray:
        """Mask of candidates that cannot be fixed points of interest: for a built-in cell, those whose h is
        outside the box (−1, 1)^n that holds every fixed point (with a margin of 1e-3); for a user's map, the
        seed's rule: farther from the starts' centroid than ``outlier_distance_scale`` times their mean
        distance to it."""
        if isinstance(self.rnn, RNN):
            return np.any(np.abs(np.asarray(self.equation.reduce(x_nxd))) > 1.0 + 1e-3, axis=1)
        return np.linalg.norm(x_nxd - problem.center, axis=1) > self.outlier_distance_scale * problem.mean_dist

    def optimize_starts(self, x0_nxd: np.ndarray, u_nxm: np.ndarray, label: str) -> FixedPoints:
        """`optimize`, then (``do_rerun_q_outliers``) the starts whose q is above outlier_q_scale · median q
        optimised again from where they stopped (their n_iters add up)."""
        raw = self.optimize(x0_nxd, u_nxm, label)
        if not self.do_rerun_q_outliers or raw.n == 0:
            return raw
        outlier = raw.qstar > self.outlier_q_scale * np.median(raw.qstar)
        if not np.any(outlier):
            return raw
        rerun = self.optimize(raw.xstar[outlier], raw.inputs[outlier], "q outliers")
        arrays = raw.fields()
        for name in ("xstar", "F_xstar", "qstar", "dq", "n_iters"):
            value = np.array(arrays[name])
            value[outlier] = getattr(rerun, name) + (value[outlier] if name == "n_iters" else 0)
            arrays[name] = value
        return FixedPoints(**arrays, tol_unique=raw.tol_unique)

    # -- stage 3: candidates --------------------------------------------------------------------------
    def candidates(self, raw: FixedPoints, problem: Problem) -> FixedPoints:
        """The raw results grouped, filtered and polished → candidates classified as fixed, marginal or slow."""
        if raw.n == 0:
            return self.polish(raw, problem)
        labels = cluster_labels(np.concatenate([raw.xstar, raw.inputs], axis=1), self.tol_unique)
        reps = representatives(labels, raw.qstar)
        if self.do_exclude_distance_outliers:
            reps = reps[~self._outliers(raw.xstar[reps], problem)]
        if len(reps) > self.max_n_unique:
            reps = np.sort(reps[np.argsort(raw.qstar[reps], kind="stable")[: int(self.max_n_unique)]])
        first, later = reps, reps[:0]
        if self.do_polish and len(reps) > 2 * POLISH_FIRST:
            # many groups (a large net whose starts stop short of tol_unique from one another): polish the
            # lowest-q groups and the unconverged ones, then only the converged groups that none of the
            # roots found explains (`_polish_unexplained_members`: Newton's bound needs a small residual)
            by_q = reps[np.argsort(raw.qstar[reps], kind="stable")]
            later = by_q[POLISH_FIRST:][raw.qstar[by_q[POLISH_FIRST:]] <= self.tol_q]
            first, later = np.setdiff1d(reps, later), np.sort(later)
        found = self.merge([self.polish(raw[first], problem)])
        if self.do_polish:
            members = np.isin(labels, labels[reps]) & (raw.qstar <= self.tol_q)
            members[reps] = False                                   # polished already
            members[later] = True                                   # groups of their own: polished unless explained
            found = self._polish_unexplained_members(raw[members], found, problem)
        found = self.linearise(found[self._reportable(found)])      # the rest would be dropped at the end
        if self.super_verbose:
            fixed = ~found.is_slow & ~found.is_marginal
            self._log(f"  {raw.n} results -> {len(reps)} groups -> {found.n} polished candidates: "
                      f"{int(fixed.sum())} fixed, {int(found.is_marginal.sum())} marginal, "
                      f"{int(found.is_slow.sum())} slow")
        return found

    def _polish_unexplained_members(self, members: FixedPoints, found: FixedPoints, problem: Problem,
                                    rounds: int = 10) -> FixedPoints:
        """Polish the converged raw ``members`` that no converged root of ``found`` explains (‖y − y*‖ >
        3‖R(y)‖/σ_min(y*) + r(y*) for every root y* at the same input), one per group of them within
        ``tol_unique`` at a time, until every member is explained or polished; merge the roots."""
        eq, dtype = self.equation, self._dtype
        params = self._params_in_dtype()
        if members.n == 0:
            return found
        y_m = np.asarray(eq.reduce(members.xstar))
        rho = polish.chunked(lambda a, b: polish.residual_norms(eq.residual, params, a, b), members.n,
                             polish.chunk_rows(y_m.shape[1]), y_m.astype(dtype), members.inputs.astype(dtype))
        for _ in range(rounds):
            roots = found[found.newton_converged] if found.n else found
            y_r = np.asarray(eq.reduce(roots.xstar))
            radius = polish.root_radius(roots.residual_norm, roots.sigma_min, y_r, dtype)
            explained = np.zeros(members.n, bool)
            for j in range(roots.n):   # roots are few (the distinct fixed points); members are vectorised
                same_input = np.all(members.inputs == roots.inputs[j], axis=1)
                # Newton's linearisation bounds the distance to the root by ‖R‖/σ_min (3×: room for curvature)
                allowed = 3.0 * rho / max(roots.sigma_min[j], 1e-300) + radius[j]
                explained |= same_input & (np.linalg.norm(y_m - y_r[j], axis=1) <= allowed)
            members, y_m, rho = members[~explained], y_m[~explained], rho[~explained]
            if members.n == 0:
                break
            labels = cluster_labels(np.concatenate([members.xstar, members.inputs], 1), self.tol_unique)
            reps = representatives(labels, members.qstar)
            found = self.merge([found, self.polish(members[reps], problem)])
            rest = np.ones(members.n, bool)
            rest[reps] = False
            members, y_m, rho = members[rest], y_m[rest], rho[rest]
        return found

    # -- stage 4: polish and classify -----------------------------------------------------------------
    def polish(self, cands: FixedPoints, problem: Problem) -> FixedPoints:
        """Newton on the reduced equation, lift to full states, certify (residual, convergence, isolation) and
        classify as fixed, marginal or slow."""
        eq, dtype = self.equation, self._dtype
        n, d, m = cands.n, cands.n_states, cands.n_inputs
        if n == 0:
            return FixedPoints.empty(d, m, self.tol_unique)
        params = self._params_in_dtype()
        y, u = np.asarray(eq.reduce(cands.xstar)).astype(dtype), cands.inputs.astype(dtype)
        chunk = polish.chunk_rows(d)
        if self.do_polish and self.newton_max_iters > 0:
            y, rho = polish.chunked(lambda a, b: polish.newton(eq.residual, int(self.newton_max_iters), params, a, b),
                                    n, chunk, y, u)
        else:
            rho = polish.chunked(lambda a, b: polish.residual_norms(eq.residual, params, a, b), n, chunk, y, u)
        x = self._lift(y, u, chunk)
        x = np.where(np.isfinite(x), x, cands.xstar.astype(x.dtype))    # a lift that overflowed keeps the start
        F, q = polish.chunked(lambda a, b: evaluate(eq.step, params, a, b), n, chunk, x, u)
        jr = polish.chunked(lambda a, b: polish.reduced_jacobians(eq.residual, params, a, b), n, chunk, y, u)
        sigma_min = polish.singular_values(jr)[:, -1] / problem.scale
        converged = (rho <= self.newton_tolerance) & bool(self.do_polish) & np.all(np.isfinite(x), axis=1)
        root = converged if self.do_polish else np.ones(n, bool)
        is_slow = ~root | (q > self.final_q_threshold)
        return FixedPoints(x, cands.x_init, cands.inputs, F, q, cands.dq, cands.n_iters, residual_norm=rho,
                           newton_converged=converged, sigma_min=sigma_min, is_slow=is_slow,
                           is_marginal=~is_slow & (sigma_min < self.tol_isolated), cond_id=cands.cond_id,
                           tol_unique=self.tol_unique)

    def linearise(self, fps: FixedPoints) -> FixedPoints:
        """``fps`` with the full map's Jacobians ∂F/∂x, ∂F/∂u at every point and their eigen-decomposition."""
        if fps.n == 0:
            return FixedPoints.empty(fps.n_states, fps.n_inputs, self.tol_unique)
        params = self._params_in_dtype()
        J, dFdu = polish.chunked(lambda a, b: polish.full_jacobians(self.equation.step, params, a, b), fps.n,
                                 polish.chunk_rows(fps.n_states), fps.xstar.astype(self._dtype),
                                 fps.inputs.astype(self._dtype))
        out = fps[np.arange(fps.n)]
        out.J_xstar, out.dFdu = J.astype(np.float64), dFdu.astype(np.float64)
        out.decompose_jacobians()
        return out

    def merge(self, sets: list[FixedPoints]) -> FixedPoints:
        """One set of distinct candidates: converged roots merged only when they are the same root
        (`polish.root_radius`), the best-converged kept; the others grouped within ``tol_unique`` (lowest q
        kept) and dropped when they lie within ``tol_unique`` of a converged root."""
        merged = FixedPoints.concatenate(sets)
        if merged.n == 0:
            return merged
        converged = merged.newton_converged
        keep = []
        if np.any(converged):
            roots = merged[converged]
            y = np.asarray(self.equation.reduce(roots.xstar))
            radius = polish.root_radius(roots.residual_norm, roots.sigma_min, y, self._dtype)
            points = np.concatenate([y, roots.inputs], axis=1)
            labels = cluster_labels(points, radius)
            keep.extend(np.flatnonzero(converged)[representatives(labels, roots.residual_norm)])
        if np.any(~converged):
            others = merged[~converged]
            labels = cluster_labels(np.concatenate([others.xstar, others.inputs], 1), self.tol_unique)
            reps = np.flatnonzero(~converged)[representatives(labels, others.qstar)]
            if np.any(converged):
                distance = np.linalg.norm((merged.xstar[reps, None] - merged.xstar[None, converged]), axis=2)
                same_input = np.all(merged.inputs[reps, None] == merged.inputs[None, converged], axis=2)
                reps = reps[~np.any(same_input & (distance <= self.tol_unique), axis=1)]
            keep.extend(reps)
        return merged[np.sort(np.asarray(keep, np.int64))]

    # -- stage 5: completeness ------------------------------------------------------------------------
    def _completeness_starts(self, found: FixedPoints, tried_pairs: set, rng, problem: Problem, first: bool):
        """Midpoints of new attractor pairs (same input) and, in the first round, uniform box starts."""
        good = found[_attractors(found)]
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
            u_rows = np.unique(problem.u, axis=0)
            box_u = u_rows[rng.randint(len(u_rows), size=int(self.n_box_inits))]
            starts.extend(self._box_starts(rng, problem, box_u))
            inputs.extend(box_u)
        d, m = found.n_states, problem.u.shape[1]
        return np.asarray(starts, np.float64).reshape(-1, d), np.asarray(inputs, np.float64).reshape(-1, m)

    def _lift(self, y_nxk: np.ndarray, u_nxm: np.ndarray, chunk: int) -> np.ndarray:
        """Full states [n, d] of reduced states y [n, k] at inputs u [n, m] (the equation's lift), in row chunks
        of ``chunk``; NaN or inf where the lift overflowed."""
        eq, params, dtype = self.equation, self._params_in_dtype(), self._dtype
        return polish.chunked(lambda a, b: polish.lift_states(eq.lift, params, a, b), len(y_nxk), chunk,
                              np.asarray(y_nxk).astype(dtype), np.asarray(u_nxm).astype(dtype))

    def _box_starts(self, rng, problem: Problem, u_nxm: np.ndarray) -> np.ndarray:
        """Starts [n, d] drawn uniformly in the box that holds every fixed point: for a built-in cell the
        reduced variable's (−1, 1)^k (h = tanh(·) or h = o·tanh(·)), lifted to full states; for a user's map,
        which has no such box, the trajectories' bounding box."""
        n = len(u_nxm)
        if not isinstance(self.rnn, RNN):
            return problem.lo + (problem.hi - problem.lo) * rng.rand(n, len(problem.lo))
        y = rng.uniform(-1.0, 1.0, size=(n, self.rnn.n_hidden))
        x = self._lift(y, u_nxm, polish.chunk_rows(problem.lo.shape[0]))
        return np.where(np.isfinite(x), x, 0.0).astype(np.float64)

    def complete(self, found: FixedPoints, problem: Problem, raw_parts: list[FixedPoints]) -> FixedPoints:
        """Rounds of completeness starts while new attractors appear; the raw results join ``raw_parts``."""
        rng = np.random.RandomState(self.random_seed + 1)
        tried: set = set()
        for round_ in range(int(self.max_completeness_rounds)):
            n_attractors = int(np.sum(_attractors(found)))
            xs, us = self._completeness_starts(found, tried, rng, problem, round_ == 0)
            if len(xs) == 0:
                break
            extra = self.optimize_starts(xs, us, f"completeness round {round_ + 1}")
            if problem.cond_ids is not None:
                extra.cond_id = np.full(extra.n, -1, np.int64)
            raw_parts.append(extra)
            found = self.merge([found, self.candidates(extra, problem)])
            if int(np.sum(_attractors(found))) == n_attractors:
                break
        return found

    def deflate(self, found: FixedPoints, problem: Problem, rounds: int = 3) -> FixedPoints:
        """Roots next to the roots found: from each new isolated root y*, Newton on the deflated equation
        (`polish.Deflated`, with y* and its nearest known roots deflated) started at y* ± (tol_unique/2)·v,
        v its reduced Jacobian's least-determined direction (the last right singular vector): the partner
        of a near-fold pair, which starts nearby all take to y*, lies along v. Repeated on the roots it finds."""
        eq, dtype = self.equation, self._dtype
        params = self._params_in_dtype()
        deflated_newton_steps = 2 * int(self.newton_max_iters)
        new = found[found.newton_converged & ~found.is_marginal]
        for _ in range(rounds):
            if new.n == 0:
                break
            roots = found[found.newton_converged]
            y_new, y_all = np.asarray(eq.reduce(new.xstar)), np.asarray(eq.reduce(roots.xstar))
            jr = polish.chunked(lambda a, b: polish.reduced_jacobians(eq.residual, params, a, b), new.n,
                                polish.chunk_rows(y_new.shape[1]), y_new.astype(dtype), new.inputs.astype(dtype))
            with single_thread_blas():
                v = np.linalg.svd(np.asarray(jr, np.float64))[2][:, -1, :]            # [n, k]
            starts = np.concatenate([y_new + 0.5 * self.tol_unique * v, y_new - 0.5 * self.tol_unique * v])
            inputs = np.concatenate([new.inputs, new.inputs])
            known = _nearest_known(starts, inputs, y_all, roots.inputs, n_known=8)
            y, _ = polish.chunked(lambda a, b, c: polish.newton(polish.Deflated(eq.residual), deflated_newton_steps,
                                                                params, a, (b, c)), len(starts),
                                  polish.chunk_rows(y_new.shape[1]), starts.astype(dtype), inputs.astype(dtype),
                                  known.astype(dtype))
            ok = np.all(np.isfinite(y), axis=1)
            x = self._lift(y[ok], inputs[ok], polish.chunk_rows(problem.lo.shape[0])) if ok.any() \
                else np.zeros((0, new.n_states))
            if len(x) == 0:
                break
            cands = FixedPoints(x, x, inputs[ok], x, np.zeros(len(x)), np.zeros(len(x)), np.zeros(len(x), np.int64),
                                tol_unique=self.tol_unique)
            n_before = int(np.sum(found.newton_converged))
            found = self.merge([found, self.polish(cands, problem)])
            converged = found[found.newton_converged & ~found.is_marginal]
            if int(np.sum(found.newton_converged)) == n_before:
                break
            y_conv = np.asarray(eq.reduce(converged.xstar))
            seen = np.zeros(converged.n, bool)
            for row in y_all:                                     # the roots known before this round
                seen |= np.all(y_conv == row, axis=1)
            new = converged[~seen]
        return found

    # -- stage 6: the result --------------------------------------------------------------------------
    def analyse(self, found: FixedPoints, raw_parts: list[FixedPoints], wall_s: float) -> FinderResult:
        """Split the candidates into fixed points and slow points, with the eigen-decomposition of the full
        map's Jacobian at each; ``all_fps`` marks ``is_slow`` where q > final_q_threshold."""
        if found.n > self.max_n_unique:
            found = found[np.sort(np.argsort(found.qstar, kind="stable")[: int(self.max_n_unique)])]
        found = found[self._reportable(found)]
        fixed = ~found.is_slow & ~found.is_marginal
        unique, slow_points = found[fixed], found[~fixed]
        if not self.do_compute_jacobians:
            for name in ("J_xstar", "dFdu", "eigval_J_xstar", "eigvec_J_xstar", "is_stable", "n_unstable"):
                setattr(unique, name, None)
        elif not self.do_decompose_jacobians:
            for name in ("eigval_J_xstar", "eigvec_J_xstar", "is_stable", "n_unstable"):
                setattr(unique, name, None)
        all_fps = FixedPoints.concatenate(raw_parts)
        all_fps.is_slow = all_fps.qstar > self.final_q_threshold
        hyper = {**self.hyperparameters(), "wall_s": wall_s}
        for fps in (unique, slow_points, all_fps):
            fps.hyperparameters = hyper
        return FinderResult(unique, slow_points, all_fps, self._last_lr, wall_s)

    def _reportable(self, found: FixedPoints) -> np.ndarray:
        """Which candidates a result reports [n]: fixed points, marginal points and slow points with q ≤
        tol_q (a failed polish that ended farther from a root is dropped)."""
        return ~found.is_slow | (found.qstar <= self.tol_q)        # marginal points are not slow

    # -- all stages -----------------------------------------------------------------------------------
    def find_fixed_points(self, state_traj=None, inputs=None, n_inits: int = SEARCH_DEFAULTS.n_inits,
                          noise_scale: float = SEARCH_DEFAULTS.noise_scale, valid_bxt=None, cond_ids=None,
                          initial_states=None) -> tuple[FixedPoints, FixedPoints]:
        """Find the fixed points → (unique_fps, all_fps); the whole result is then ``self.result``.

        ``state_traj`` [trials, time, d]: states to sample ``n_inits`` starts from (plus noise of scale
        ``noise_scale``), unless ``initial_states`` [n, d] are given; ``valid_bxt`` [trials, time] marks the
        states that may be sampled. ``inputs``: [1, m] (shared) or [n, m] (one per start). ``cond_ids`` [n]:
        optional labels carried along. ``unique_fps`` holds the isolated, polished fixed points with their
        Jacobians; ``all_fps`` the optimiser's result for every start (completeness starts included),
        ``is_slow`` marking q > final_q_threshold.
        """
        start = time.perf_counter()
        self._opt_size = 0
        problem = self.prepare(state_traj, inputs, n_inits, noise_scale, valid_bxt, cond_ids, initial_states)
        self._log(f"Searching for fixed points from {len(problem.x0)} initial states.")
        with self._precision():
            raw = self.optimize_starts(problem.x0, problem.u, "sampled starts")
            if problem.cond_ids is not None:
                raw.cond_id = problem.cond_ids
            raw_parts = [raw]
            found = self.candidates(raw, problem)
            if self.do_completeness_starts and found.n:
                found = self.complete(found, problem, raw_parts)
            if self.do_deflation and self.do_polish and found.n:
                found = self.linearise(self.deflate(found, problem))
        self.result = self.analyse(found, raw_parts, time.perf_counter() - start)
        unique, slow = self.result.fixed_points, self.result.slow_points
        self._log(f"Found {unique.n} fixed points"
                  + (f" ({int(np.sum(unique.is_stable))} stable)" if unique.is_stable is not None else "")
                  + f" and {slow.n} slow or marginal points, from {self.result.all_fps.n} starts in "
                  f"{self.result.wall_s:.2f} s.")
        return unique, self.result.all_fps


FixedPointFinder.__doc__ += "\n" + settings_doc(FinderSettings) + "\n"


def _nearest_known(y_sxk: np.ndarray, u_sxm: np.ndarray, roots_rxk: np.ndarray, roots_u_rxm: np.ndarray,
                   n_known: int) -> np.ndarray:
    """For each point, its ``n_known`` nearest roots at the same input [s, n_known, k], padded with far points
    (1e6: they deflate nothing)."""
    s, k = y_sxk.shape
    known = np.full((s, n_known, k), 1e6)
    if len(roots_rxk) == 0:
        return known
    distance = np.linalg.norm(y_sxk[:, None, :] - roots_rxk[None], axis=2)
    distance[~np.all(u_sxm[:, None, :] == roots_u_rxm[None], axis=2)] = np.inf
    order = np.argsort(distance, axis=1, kind="stable")[:, :n_known]
    near = np.take_along_axis(distance, order, axis=1) < np.inf
    known[:, :order.shape[1]] = np.where(near[..., None], roots_rxk[order], 1e6)
    return known


def _attractors(fps: FixedPoints) -> np.ndarray:
    """Mask of the isolated stable fixed points of a candidate set."""
    if fps.n == 0 or fps.is_stable is None:
        return np.zeros(fps.n, bool)
    return fps.is_stable & ~fps.is_slow & ~fps.is_marginal
