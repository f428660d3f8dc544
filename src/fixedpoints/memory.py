"""The memory census of a network: does each output pattern stay held with zero input, and by what?

A network that solves the N-bit FlipFlop task holds each of the 2^N output patterns s ∈ {−1, +1}^N
while no input arrives. The census checks that directly, independently of the fixed-point finder:

1. **Representatives.** A test-trial state x_bt (trial b, time t) represents pattern s when the
   target there holds s in every bit (sign(target_bt) = s; a target with a zero bit represents no
   pattern). Of each pattern's states at most ``max_states_per_pattern`` are kept, the most settled
   first — longest time since the last non-zero input on any channel, ties by (trial, t) — so the
   choice is deterministic and the cost bounded by 2^N · ``max_states_per_pattern`` trajectories.
2. **Zero-input run.** From every representative x₀ the map is iterated, x_{k+1} = F(x_k, 0), for
   k < T = ``memory_steps`` (default 10 × n_time): all representatives at once, in one compiled
   ``lax`` loop over the steps of the ``vmap``-ped map. The readout y_k (for an `RNN`,
   h_k @ w_out + b_out with h the first n_hidden entries of the state) *gives* s when y_k,i · s_i > 0
   for every bit i. The trajectory's lifetime is the first k ∈ 0..T at which it does not (−1 if none).
3. **Where it ended.** The end state x_T has speed v = ‖F(x_T, 0) − x_T‖₂. The run's fixed points
   (``fixed_points``: the isolated points the finder certified, with ``is_stable``) classify it:

   * ``stable_point``:   continued from x_T for at most ``max_settle_steps`` more steps (default
     10·T), the trajectory comes within ``tol_distance`` (Euclidean) of a stable fixed point while
     the signs of its readout stay those at x_T. Reaching a small ball around an attractor, rather
     than a tiny speed, is the test because a gated cell's speed can be scaled down by a nearly
     closed gate (GRU: F(h) − h = (1 − z) ∘ (n(h) − h)) far from any fixed point, and such a state
     converges only over thousands of steps; the ball is assumed to lie in the attractor's basin.
     ``settle_steps`` says how many steps past T it took (0: x_T was already there).
   * ``unstable_point``: otherwise, v ≤ ``tol_speed`` and the fixed point nearest to x_T is unstable
     and within ``tol_distance`` (the state sits on a saddle, e.g. held there by a symmetry);
   * ``slow_point``:     otherwise v ≤ ``tol_slow``: slow, but neither at nor on its way to an
     attractor of the run — the ghost of a vanished fixed point, or a slow candidate of the finder
     (the nearest of the run's ``slow_points`` is reported beside it);
   * ``drifting``:       otherwise (still moving at v > ``tol_slow``, or not finite).

4. **Per pattern.** ``held`` when every representative trajectory gives s at every step 0..T (so
   also at the end); ``lifetime`` the smallest lifetime over the representatives (−1 when none lost
   s, or when the pattern was never visited). The pattern's end state, speed, kind and nearest
   points are those of one representative, its *witness*: the first to lose s when one did;
   otherwise the one that ended worst (kinds ranked stable_point < slow_point < unstable_point <
   drifting, then the higher speed), so a pattern is "held at a stable point" only when every one
   of its representatives is. A pattern that no test state represents is ``unvisited``: not held,
   end state NaN.

The counts: ``n_memories`` (patterns held), ``n_memories_at_stable_points`` and
``n_memories_at_slow_points`` (held patterns of kind ``stable_point`` / ``slow_point``). The file
format (group ``memories`` of ``fixed_points.h5``) and the runs-table columns: docs/memory.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple
from collections.abc import Callable, Mapping

import h5py
import jax
import jax.numpy as jnp
import numpy as np

from .fixed_points import FixedPoints
from .io import read_array, read_attr, write_array
from .models import FAST_COMPILE, RNN, STEP_FUNCTIONS, readout
from .settings import from_mapping, setting, validate, values

END_KINDS = ("unvisited", "stable_point", "slow_point", "unstable_point", "drifting")
"""The kinds of end state; the file stores ``end_kind`` as the index into this tuple."""

_SEVERITY = {"stable_point": 0, "slow_point": 1, "unstable_point": 2, "drifting": 3}
"""How badly a held representative ended, to pick a pattern's witness (worst first)."""

@dataclasses.dataclass(kw_only=True, frozen=True)
class CensusSettings:
    """The settings of a memory census (the config section ``memory``)."""

    memory_steps: int | None = setting(None, "zero-input steps a memory must last (null: 10 x the trials' n_time)",
                                       kind="int", ge=1, nullable=True)
    max_settle_steps: int | None = setting(None, "further steps allowed for a held state to reach a stable fixed "
                                                 "point (null: 10 x memory_steps)", kind="int", ge=0, nullable=True)
    max_states_per_pattern: int = setting(32, "test states that represent each output pattern, at most", ge=1)
    tol_distance: float = setting(1e-2, "a state this close to a fixed point is at it", ge=0)
    tol_speed: float = setting(1e-5, "a state whose |F(x) - x| is below this is at rest", ge=0)
    tol_slow: float = setting(1e-2, "a held state whose |F(x) - x| is below this (and no fixed point near) is at a "
                                    "slow point", ge=0)
    dtype: str = setting("float32", "floating-point type of the zero-input runs", choices=("float32", "float64"))

    def __post_init__(self):
        validate(self)


SETTING_TYPES = {"memory_steps": int, "max_settle_steps": int, "max_states_per_pattern": int, "tol_distance": float,
                 "tol_speed": float, "tol_slow": float, "dtype": str}
"""Every setting a census records, resolved (attributes of the ``memories`` group), and its type."""

MAX_OUTPUTS = 16
"""Largest N accepted: the census has 2^N rows."""

COUNT_COLUMNS = ("n_memories", "n_memories_at_stable_points", "n_memories_at_slow_points")
"""The runs-table columns of `memory_columns`."""


class PatternMemory(NamedTuple):
    """The census of one output pattern (see the module docstring for the definitions)."""

    pattern: np.ndarray          # [N] int8, ±1
    held: bool                   # every representative gave the pattern at every step 0..T
    lifetime: int                # first step (0..T) at which a representative lost it; −1 if none did
    end_kind: str                # one of END_KINDS
    end_state: np.ndarray        # [d] the witness's state x_T (NaN if unvisited)
    end_speed: float             # ‖F(x_T, 0) − x_T‖₂
    nearest_fixed_point: int     # index of the run's fixed point nearest to x_T, −1 if none
    fixed_point_distance: float  # ‖x_T − x*‖₂ to it (inf if none)
    nearest_slow_point: int      # index of the run's slow candidate nearest to x_T, −1 if none
    slow_point_distance: float   # distance to it (inf if none)
    settled_at: int              # index of the stable fixed point the witness settled at, −1 if none
    settle_steps: int            # steps past T it took to come within tol_distance of it, −1 if it did not
    n_states: int                # representatives run for this pattern
    n_held: int                  # of them, how many gave the pattern at every step


ARRAY_FIELDS = {"pattern": np.int8, "held": np.bool_, "lifetime": np.int64, "end_state": np.float64,
                "end_speed": np.float64, "nearest_fixed_point": np.int64, "fixed_point_distance": np.float64,
                "nearest_slow_point": np.int64, "slow_point_distance": np.float64, "settled_at": np.int64,
                "settle_steps": np.int64, "n_states": np.int64, "n_held": np.int64}
"""The fields of `PatternMemory` stored as datasets [2^N, ...] of these dtypes (``end_kind``: int8 codes)."""


@dataclass(frozen=True, eq=False)
class MemoryCensus:
    """The census of every output pattern, in the order of `all_patterns`, and the settings used."""

    memories: tuple[PatternMemory, ...]
    settings: dict = field(default_factory=dict)   # every key of SETTING_TYPES

    def _count(self, kind: str | None = None) -> int:
        return sum(1 for m in self.memories if m.held and (kind is None or m.end_kind == kind))

    @property
    def n_memories(self) -> int:
        """Patterns held at every step of the zero-input run."""
        return self._count()

    @property
    def n_memories_at_stable_points(self) -> int:
        """Held patterns whose representatives all settle at a stable fixed point."""
        return self._count("stable_point")

    @property
    def n_memories_at_slow_points(self) -> int:
        """Held patterns whose worst representative ends at a slow point."""
        return self._count("slow_point")

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-pattern fields stacked: name → array [2^N, ...], ``end_kind`` as int8 codes."""
        out = {name: np.asarray([getattr(m, name) for m in self.memories], dtype)
               for name, dtype in ARRAY_FIELDS.items()}
        out["end_kind"] = np.asarray([END_KINDS.index(m.end_kind) for m in self.memories], np.int8)
        return out

    def summary_line(self) -> str:
        """One line, e.g. ``memories: 3/4 held (2 at stable points, 1 at slow points); lost: +- after 212 steps``."""
        text = (f"memories: {self.n_memories}/{len(self.memories)} held ({self.n_memories_at_stable_points} at "
                f"stable points, {self.n_memories_at_slow_points} at slow points)")
        lost = [f"{_pattern_text(m.pattern)} after {m.lifetime} steps" for m in self.memories
                if not m.held and m.end_kind != "unvisited"]
        unvisited = sum(m.end_kind == "unvisited" for m in self.memories)
        return (text + (f"; lost: {', '.join(lost)}" if lost else "")
                + (f"; never visited: {unvisited}" if unvisited else ""))


def _pattern_text(pattern) -> str:
    return "".join("+" if bit > 0 else "-" for bit in pattern)


def all_patterns(n_outputs: int) -> np.ndarray:
    """The 2^N patterns [2^N, N] int8 in binary order: row i has +1 at bit k when bit N−1−k of i is set
    (channel 0 most significant), −1 elsewhere — the order of ``itertools.product((-1, 1), repeat=N)``."""
    if isinstance(n_outputs, bool) or int(n_outputs) != n_outputs or not 1 <= n_outputs <= MAX_OUTPUTS:
        raise ValueError(f"the number of outputs must be an integer in 1..{MAX_OUTPUTS} (the census has 2^N "
                         f"rows), got {n_outputs!r}")
    n = int(n_outputs)
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return (2 * bits - 1).astype(np.int8)


def pattern_ids(targets_bxtxn: np.ndarray) -> np.ndarray:
    """Index (row of `all_patterns`) of the pattern each target holds [b, t]; −1 where a bit is 0."""
    signs = np.sign(np.asarray(targets_bxtxn))
    n = signs.shape[-1]
    ids = ((signs > 0).astype(np.int64) << np.arange(n - 1, -1, -1)).sum(axis=-1)
    return np.where(np.all(signs != 0, axis=-1), ids, -1)


def quiet_time(inputs_bxtxm: np.ndarray) -> np.ndarray:
    """Steps since the last non-zero input on any channel [b, t] (0 at a pulse; t + 1 before the first)."""
    inputs_bxtxm = np.asarray(inputs_bxtxm)
    times = np.arange(inputs_bxtxm.shape[1])[None, :]
    pulse_time = np.where(np.any(inputs_bxtxm != 0, axis=-1), times, -1)
    return times - np.maximum.accumulate(pulse_time, axis=1)


def select_representatives(inputs_bxtxm: np.ndarray, targets_bxtxn: np.ndarray,
                           max_states_per_pattern: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trial [s], time [s], pattern id [s]) of the representatives, grouped by pattern id.

    Within a pattern: longest quiet time first, then by trial and time; at most
    ``max_states_per_pattern`` each (one stable sort, no loop over patterns).
    """
    ids_bxt = pattern_ids(targets_bxtxn)
    quiet_bxt = quiet_time(inputs_bxtxm)
    trial, time = np.nonzero(ids_bxt >= 0)          # row-major: by trial, then time
    ids, quiet = ids_bxt[trial, time], quiet_bxt[trial, time]
    order = np.lexsort((-quiet, ids))                # stable: ties keep (trial, time) order
    ids_sorted = ids[order]
    rank = np.arange(len(order)) - np.searchsorted(ids_sorted, ids_sorted, side="left")
    keep = order[rank < max_states_per_pattern]
    return trial[keep], time[keep], ids[keep]


def _padded_size(n: int, least: int) -> int:
    """A batch size padded to a power of two (at least ``least``), so few shapes are ever compiled."""
    return max(least, 1 << (max(int(n), 1) - 1).bit_length())


class ZeroInputRun(NamedTuple):
    """What `run_zero_input` returns, one row per start."""

    x_end: jax.Array         # [s, d] x_T
    lifetime: jax.Array      # [s] int32: first k in 0..T at which the readout does not give the pattern, −1 if none
    speed: jax.Array         # [s] ‖F(x_T, u) − x_T‖₂
    settled_at: jax.Array    # [s] int32: row of ``attractors`` reached within tol_distance after T, −1 if none
    settle_steps: jax.Array  # [s] int32: steps past T it took, −1 if none


@partial(jax.jit, static_argnums=(0, 1), compiler_options=FAST_COMPILE)
def run_zero_input(step: Callable, read: Callable, params, x0_sxd, pattern_sxn, u_m, attractors_kxd,
                   memory_steps, max_settle_steps, tol_distance) -> ZeroInputRun:
    """Iterate x ← F(x, u) from every row of ``x0_sxd`` for T = ``memory_steps`` steps, then settle.

    ``step(params, x[d], u[m]) -> x'[d]`` and ``read(params, x[d]) -> y[N]`` are written for one point
    and ``vmap``-ped; both phases are ``lax`` loops in this one compiled program. The readout gives a
    pattern s when y·s > 0 in every bit. Settling: each trajectory goes on from x_T until it is within
    ``tol_distance`` of a row of ``attractors_kxd`` (NaN rows are padding), until the signs of its
    readout differ from those at x_T, until it is not finite, or for ``max_settle_steps`` steps; the
    loop ends when all have stopped.
    """
    step_s = jax.vmap(step, (None, 0, None))
    read_s = jax.vmap(read, (None, 0))

    def gives(x_sxd):
        return jnp.all(read_s(params, x_sxd) * pattern_sxn > 0, axis=-1)

    def hold_step(k, carry):
        x, lifetime = carry
        x = step_s(params, x, u_m)
        return x, jnp.where((lifetime < 0) & ~gives(x), k, lifetime)

    lifetime0 = jnp.where(gives(x0_sxd), -1, 0).astype(jnp.int32)
    x_end, lifetime = jax.lax.fori_loop(1, memory_steps + 1, hold_step, (x0_sxd, lifetime0))
    speed = jnp.linalg.norm(step_s(params, x_end, u_m) - x_end, axis=-1)
    signs_end = read_s(params, x_end) > 0

    def nearest_attractor(x_sxd):
        distance = jnp.linalg.norm(x_sxd[:, None, :] - attractors_kxd[None, :, :], axis=-1)
        distance = jnp.where(jnp.isnan(distance), jnp.inf, distance)
        index = jnp.argmin(distance, axis=1).astype(jnp.int32)
        return jnp.where(jnp.min(distance, axis=1) <= tol_distance, index, -1)

    def check(k, x, done, settled_at, settle_steps):
        reached = nearest_attractor(x)
        hit = ~done & (reached >= 0)
        stopped = jnp.any((read_s(params, x) > 0) != signs_end, axis=-1) | ~jnp.all(jnp.isfinite(x), axis=-1)
        return (done | hit | stopped, jnp.where(hit, reached, settled_at), jnp.where(hit, k, settle_steps))

    def go_on(carry):
        k, _, done, _, _ = carry
        return (k < max_settle_steps) & ~jnp.all(done)

    def settle_step(carry):
        k, x, done, settled_at, settle_steps = carry
        x = jnp.where(done[:, None], x, step_s(params, x, u_m))
        return (k + 1, x) + check(k + 1, x, done, settled_at, settle_steps)

    none = jnp.full(x0_sxd.shape[0], -1, jnp.int32)
    start = (0, x_end) + check(0, x_end, jnp.zeros(x0_sxd.shape[0], bool), none, none)
    _, _, _, settled_at, settle_steps = jax.lax.while_loop(go_on, settle_step, start)
    return ZeroInputRun(x_end, lifetime, speed, settled_at, settle_steps)


def pairwise_distances(a_sxd: np.ndarray, b_pxd: np.ndarray) -> np.ndarray:
    """Euclidean distances [s, p]: sqrt(Σ_k (a[i, k] − b[j, k])²), summed in the order k = 0, 1, …
    (as scipy's ``cdist``, whose import alone would cost the fixed-point job 0.4 s)."""
    squared = np.zeros((len(a_sxd), len(b_pxd)))
    for k in range(a_sxd.shape[1]):
        squared += (a_sxd[:, k, None] - b_pxd[None, :, k]) ** 2
    return np.sqrt(squared)


def nearest_points(x_sxd: np.ndarray, points: FixedPoints | None) -> tuple[np.ndarray, np.ndarray]:
    """(index [s] of the nearest row of ``points.xstar``, Euclidean distance [s]); −1 and inf if there
    are none. Non-finite states get −1 and NaN."""
    x = np.asarray(x_sxd, np.float64)
    finite = np.all(np.isfinite(x), axis=1)
    if points is None or len(points) == 0:
        return np.full(len(x), -1, np.int64), np.where(finite, np.inf, np.nan)
    distances = pairwise_distances(np.where(finite[:, None], x, 0.0), np.asarray(points.xstar, np.float64))
    index = np.argmin(distances, axis=1)
    return np.where(finite, index, -1), np.where(finite, distances[np.arange(len(x)), index], np.nan)


def end_kinds(settled_at: np.ndarray, speed: np.ndarray, fp_index: np.ndarray, fp_distance: np.ndarray,
              is_stable: np.ndarray, *, tol_speed: float, tol_distance: float, tol_slow: float) -> np.ndarray:
    """Kind of each end state [s] (strings of END_KINDS), by the rules of the module docstring."""
    speed = np.nan_to_num(np.asarray(speed, np.float64), nan=np.inf)
    near = (fp_index >= 0) & (np.nan_to_num(fp_distance, nan=np.inf) <= tol_distance)
    unstable = near & ~np.asarray(is_stable, bool)[np.maximum(fp_index, 0)] if len(is_stable) else near
    return np.select([settled_at >= 0, unstable & (speed <= tol_speed), speed <= tol_slow],
                     ["stable_point", "unstable_point", "slow_point"], "drifting").astype(object)


def _witnesses(ids: np.ndarray, lifetime: np.ndarray, kinds: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Index of each visited pattern's witness (first to lose it, else the worst end), in id order."""
    lost = lifetime >= 0
    severity = np.array([_SEVERITY[k] for k in kinds], np.int64)
    speed_key = np.nan_to_num(np.asarray(speed, np.float64), nan=np.inf)
    order = np.lexsort((np.arange(len(ids)), np.where(lost, 0.0, -speed_key), np.where(lost, 0, -severity),
                        np.where(lost, lifetime, 0), ~lost, ids))
    first = np.ones(len(order), bool)
    first[1:] = ids[order][1:] != ids[order][:-1]
    return order[first]


def census_settings(n_time: int, **settings) -> dict:
    """Every setting of `CensusSettings`, checked, with ``memory_steps`` (10 × n_time) and ``max_settle_steps``
    (10 × memory_steps) resolved; ValueError names a bad one."""
    resolved = values(from_mapping(CensusSettings, settings, "census"))
    if resolved["memory_steps"] is None:
        resolved["memory_steps"] = 10 * int(n_time)
    if resolved["max_settle_steps"] is None:
        resolved["max_settle_steps"] = 10 * resolved["memory_steps"]
    return {key: kind(resolved[key]) for key, kind in SETTING_TYPES.items()}


def _check_points(points: FixedPoints | None, name: str, d: int, need_stability: bool) -> None:
    if points is None:
        return
    if not isinstance(points, FixedPoints):
        raise ValueError(f"{name} must be a FixedPoints set or None, got {type(points).__name__}")
    if points.n_states != d:
        raise ValueError(f"{name} have states of size {points.n_states}, the network's states have size {d}")
    if need_stability and len(points) and points.is_stable is None:
        raise ValueError(f"{name} lack is_stable: decompose their Jacobians first")


def _precision(dtype: str):
    """A context in which JAX computes in ``dtype`` (float64 needs 64-bit mode)."""
    if dtype != "float64":
        return contextlib.nullcontext()
    from .finder import x64_scope

    return x64_scope()


def _cast_float(dtype, leaf):
    """A parameter in the census's dtype when it is a floating-point array; other leaves as they are."""
    leaf = jnp.asarray(leaf)
    return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf


def _check_trials(read: Callable, params, states, inputs, targets) -> int:
    """The number of outputs N of ``read``, after checking the shapes of the trials' arrays against it."""
    if inputs.ndim != 3 or 0 in inputs.shape[:2]:
        raise ValueError(f"inputs must have shape [trials>0, time>0, n_inputs], got {inputs.shape}")
    if states.ndim != 3 or states.shape[:2] != inputs.shape[:2]:
        raise ValueError(f"states must have shape [{inputs.shape[0]}, {inputs.shape[1]}, d] (trials and time as "
                         f"inputs), got {states.shape}")
    y_shape = jax.eval_shape(partial(read, params), jax.ShapeDtypeStruct(states.shape[2:], jnp.float32)).shape
    n_outputs = y_shape[0] if len(y_shape) == 1 else 0
    all_patterns(n_outputs)                       # checks N
    expected = inputs.shape[:2] + (n_outputs,)
    if targets.shape != expected:
        raise ValueError(f"targets must have shape [{expected[0]}, {expected[1]}, {n_outputs}] (trials and time as "
                         f"inputs, one column per output), got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ValueError("targets contain NaN or inf")
    return n_outputs


def _simulate(step: Callable, read: Callable, params, x0_sxd, pattern_sxn, n_inputs: int, attractors_kxd,
              options: Mapping) -> ZeroInputRun:
    """`run_zero_input` in the census's dtype on batches padded to a power of two; numpy rows [s]."""
    n, d = x0_sxd.shape
    pad = _padded_size(n, 64) - n
    attractors = np.full((_padded_size(len(attractors_kxd), 8), d), np.nan)
    attractors[:len(attractors_kxd)] = attractors_kxd
    with _precision(options["dtype"]):
        dtype = jnp.dtype(options["dtype"])
        run = run_zero_input(step, read, jax.tree_util.tree_map(partial(_cast_float, dtype), params),
                             np.concatenate([x0_sxd, np.zeros((pad, d))]).astype(dtype),
                             np.concatenate([pattern_sxn, np.ones((pad, pattern_sxn.shape[1]))]).astype(dtype),
                             jnp.zeros(n_inputs, dtype), attractors.astype(dtype), options["memory_steps"],
                             options["max_settle_steps"] if len(attractors_kxd) else 0, options["tol_distance"])
        return ZeroInputRun(*(np.asarray(a)[:n] for a in run))


def map_memory_census(step: Callable, read: Callable, params, states_bxtxd, inputs_bxtxm, targets_bxtxn,
                      fixed_points: FixedPoints | None, slow_points: FixedPoints | None = None,
                      **settings) -> MemoryCensus:
    """The memory census of any map (see the module docstring).

    ``step(params, x[d], u[m]) -> x'[d]`` is the map F and ``read(params, x[d]) -> y[N]`` its readout,
    both JAX-traceable, hashable (module-level functions are) and written for one point. The test
    trials: ``states_bxtxd`` (the map's states along them), ``inputs_bxtxm`` and ``targets_bxtxn``
    (±1 per bit). ``fixed_points``: the run's isolated fixed points at zero input (``xstar``,
    ``is_stable``; None or empty: none); ``slow_points``: its slow candidates (None or empty: none).
    ``settings``: any field of `CensusSettings` (``memory_steps`` T, default 10 × n_time, …).
    Raises ValueError naming the argument and what was expected.
    """
    states = np.asarray(states_bxtxd)
    inputs, targets = np.asarray(inputs_bxtxm), np.asarray(targets_bxtxn)
    patterns = all_patterns(_check_trials(read, params, states, inputs, targets))
    options = census_settings(inputs.shape[1], **settings)
    d = states.shape[2]
    _check_points(fixed_points, "fixed_points", d, need_stability=True)
    _check_points(slow_points, "slow_points", d, need_stability=False)
    is_stable = np.zeros(0, bool) if fixed_points is None or not len(fixed_points) else fixed_points.is_stable
    stable_index = np.flatnonzero(is_stable)

    trial, time, ids = select_representatives(inputs, targets, options["max_states_per_pattern"])
    run = _simulate(step, read, params, states[trial, time], patterns[ids], inputs.shape[2],
                    fixed_points.xstar[stable_index] if len(stable_index) else np.zeros((0, d)), options)
    lifetime, speed = run.lifetime.astype(np.int64), run.speed.astype(np.float64)
    settled_at = np.append(stable_index, -1)[run.settled_at]          # −1 stays −1
    fp_index, fp_distance = nearest_points(run.x_end, fixed_points)
    slow_index, slow_distance = nearest_points(run.x_end, slow_points)
    kinds = end_kinds(settled_at, speed, fp_index, fp_distance, is_stable, tol_speed=options["tol_speed"],
                      tol_distance=options["tol_distance"], tol_slow=options["tol_slow"])

    n_states = np.bincount(ids, minlength=len(patterns))
    n_held = np.bincount(ids[lifetime < 0], minlength=len(patterns))
    chosen = _witnesses(ids, lifetime, kinds, speed)
    witness = dict(zip(ids[chosen].tolist(), chosen.tolist()))
    memories = []
    for p, pattern in enumerate(patterns):
        if p not in witness:
            memories.append(PatternMemory(pattern, False, -1, "unvisited", np.full(d, np.nan), np.nan, -1, np.nan,
                                          -1, np.nan, -1, -1, 0, 0))
            continue
        w = witness[p]
        memories.append(PatternMemory(pattern, bool(n_held[p] == n_states[p]), int(lifetime[w]), str(kinds[w]),
                                      run.x_end[w].astype(np.float64), float(speed[w]), int(fp_index[w]),
                                      float(fp_distance[w]), int(slow_index[w]), float(slow_distance[w]),
                                      int(settled_at[w]), int(run.settle_steps[w]), int(n_states[p]), int(n_held[p])))
    return MemoryCensus(tuple(memories), options)


def memory_census(rnn: RNN, inputs_bxtxm, targets_bxtxn, fixed_points: FixedPoints | None,
                  slow_points: FixedPoints | None = None, **settings) -> MemoryCensus:
    """The memory census of an `RNN` on test trials (``inputs`` [b, t, m], ``targets`` [b, t, N]).

    The states are the network's own, ``rnn(inputs)`` from its initial state; the map is its cell at
    zero input and the readout ``h @ w_out + b_out``. See `map_memory_census` for the other arguments.
    """
    inputs = np.asarray(inputs_bxtxm, np.float32)
    if inputs.ndim != 3 or inputs.shape[2] != rnn.n_inputs or 0 in inputs.shape[:2]:
        raise ValueError(f"inputs must have shape [trials>0, time>0, {rnn.n_inputs}], got {inputs.shape}")
    _, states = rnn(inputs)
    states = np.asarray(states).reshape(inputs.shape[:2] + (rnn.state_size,))   # t == 1 gives [b, d]
    return map_memory_census(STEP_FUNCTIONS[rnn.rnn_type], readout, rnn.params, states, inputs, targets_bxtxn,
                             fixed_points, slow_points, **settings)


# -- the group ``memories`` of fixed_points.h5 ----------------------------------------------------

def save_memories(group: h5py.Group, census: MemoryCensus) -> None:
    """Write ``census`` into ``group``: one dataset [2^N, ...] per field, settings and counts as attrs."""
    for name, value in census.arrays().items():
        write_array(group, name, value)
    group.attrs["end_kind_names"] = list(END_KINDS)
    for key, value in census.settings.items():
        group.attrs[key] = value
    for key in COUNT_COLUMNS:
        group.attrs[key] = getattr(census, key)


def load_memories(group: h5py.Group) -> MemoryCensus:
    """Read a census written by `save_memories`; KeyError/ValueError name the dataset or attribute
    (inside `fixedpoints.io.read_h5` they become a FileFormatError naming the file)."""
    arrays = {name: read_array(group, name, ndim=2 if name in ("pattern", "end_state") else 1, dtype=dtype)
              for name, dtype in ARRAY_FIELDS.items()}
    codes = read_array(group, "end_kind", ndim=1, dtype=np.int64)
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in np.atleast_1d(group.attrs.get("end_kind_names",
                                                                                                  []))]
    if names != list(END_KINDS):
        raise ValueError(f"{group.name}: attribute end_kind_names is {names}, expected {list(END_KINDS)}")
    n_patterns, n_outputs = arrays["pattern"].shape
    if not 1 <= n_outputs <= MAX_OUTPUTS or not np.array_equal(arrays["pattern"], all_patterns(n_outputs)):
        raise ValueError(f"dataset {group.name}/pattern must hold the 2^N patterns of N={n_outputs} bits in "
                         "binary order")
    for name, value in {**arrays, "end_kind": codes}.items():
        if len(value) != n_patterns:
            raise ValueError(f"dataset {group.name}/{name} has {len(value)} rows, expected {n_patterns}")
    if np.any((codes < 0) | (codes >= len(END_KINDS))):
        raise ValueError(f"dataset {group.name}/end_kind has codes outside 0..{len(END_KINDS) - 1}")
    settings = {key: read_attr(group, key, kind) for key, kind in SETTING_TYPES.items()}
    census = MemoryCensus(tuple(
        PatternMemory(end_kind=END_KINDS[codes[p]], **{name: value[p] if value.ndim == 2 else value[p].item()
                                                       for name, value in arrays.items()})
        for p in range(n_patterns)), settings)
    for key in COUNT_COLUMNS:
        if read_attr(group, key, int) != getattr(census, key):
            raise ValueError(f"{group.name}: attribute {key}={group.attrs[key]} disagrees with the datasets "
                             f"({getattr(census, key)})")
    return census


def memory_columns(census_or_group: MemoryCensus | h5py.Group | None) -> dict:
    """The runs-table columns ``n_memories, n_memories_at_stable_points, n_memories_at_slow_points``
    of a census (or of a ``memories`` group, read with `load_memories`); ``pd.NA`` for None (no census)."""
    import pandas as pd

    if census_or_group is None:
        return {key: pd.NA for key in COUNT_COLUMNS}
    census = census_or_group if isinstance(census_or_group, MemoryCensus) else load_memories(census_or_group)
    return {key: int(getattr(census, key)) for key in COUNT_COLUMNS}
