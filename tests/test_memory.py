"""The memory census (fixedpoints.memory) against closed-form systems, numpy float64 iteration and round trips."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from fixedpoints import FixedPointFinder, FixedPoints, FlipFlopData, RNN, train
from fixedpoints.io import FileFormatError, atomic_h5, read_h5
from fixedpoints.memory import (END_KINDS, all_patterns, load_memories, map_memory_census, memory_census,
                                memory_columns, pairwise_distances, save_memories, select_representatives)
from fixedpoints.models import STEP_FUNCTIONS, parameter_shapes, readout
from fixedpoints.tasks import hold_last_pulse
from reliability_support import edited

SCHEMA = "test/memories"


# -- hand-built maps --------------------------------------------------------------------------------

def tanh_map(params, x, u):
    """x' = tanh(w x + b), one unit per entry (decoupled)."""
    return jnp.tanh(params["w"] * x + params["b"])


def identity_readout(params, x):
    return x


def shifted_readout(params, x):
    return x + params["shift"]


def bistable_root(w):
    """The positive root of tanh(w h) = h (w > 1), by bracketing."""
    return brentq(lambda h: np.tanh(w * h) - h, 1e-3, 1.0, xtol=1e-15)


def one_trial(starts, target):
    """States, inputs and targets of one trial whose steps are the given 1-D states, all holding ``target``."""
    n = len(starts)
    inputs = np.zeros((1, n, 1))
    inputs[0, 0, 0] = target
    return np.reshape(starts, (1, n, 1)), inputs, np.full((1, n, 1), float(target))


def points(xstar, is_stable):
    xstar = np.asarray(xstar, np.float64)
    return FixedPoints(xstar, is_stable=np.asarray(is_stable, bool))


# -- a map just past a saddle-node: one slow point, no fixed point near it --------------------------

W_SN = 2.0
X_GHOST = np.sqrt(1.0 - 1.0 / W_SN)                       # where tanh(w x + b_c) touches the diagonal
B_CRITICAL = np.arctanh(X_GHOST) - W_SN * X_GHOST          # the saddle-node bias
B_SN = B_CRITICAL - 1.5e-4                                 # just past it: the upper fixed points are gone


def sn_numpy(x):
    return np.tanh(W_SN * x + B_SN)


def sn_lifetime(x0):
    """First step k at which the float64 iteration of the map from x0 is no longer positive."""
    x, k = float(x0), 0
    while x > 0:
        x, k = sn_numpy(x), k + 1
    return k


@pytest.fixture(scope="module")
def saddle_node():
    """Starts of pattern + (in the bottleneck's approach) and of pattern − (at the lower attractor)."""
    x_low = brentq(lambda x: sn_numpy(x) - x, -1.0, 0.0, xtol=1e-15)
    slope = W_SN * (1.0 - np.tanh(W_SN * x_low + B_SN) ** 2)
    assert abs(slope) < 1                                   # the only fixed point is stable
    starts_plus = [0.9, 0.8, 0.75]
    s1, i1, t1 = one_trial(starts_plus, +1)
    s2, i2, t2 = one_trial([-0.9, -0.95, -0.97], -1)
    data = tuple(np.concatenate(pair) for pair in ((s1, s2), (i1, i2), (t1, t2)))
    return {"data": data, "params": {"w": jnp.float32(W_SN), "b": jnp.float32(B_SN)},
            "fixed": points([[x_low]], [True]), "slow": points([[X_GHOST]], [False]), "starts_plus": starts_plus}


def test_passage_time_through_the_bottleneck_matches_the_closed_form():
    """Normal form x' = x + ε + a (x − x_c)² at the ghost: passage ≈ π/√(εa), against numpy iteration."""
    eps = sn_numpy(X_GHOST) - X_GHOST
    u = W_SN * X_GHOST + B_SN
    a = -W_SN ** 2 * (1 - np.tanh(u) ** 2) * np.tanh(u)   # F''(x_c) / 2
    assert eps < 0 and a < 0
    assert sn_lifetime(0.9) == pytest.approx(np.pi / np.sqrt(eps * a), rel=0.05)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saddle_node_short_horizon_holds_at_a_slow_point(saddle_node, dtype):
    states, inputs, targets = saddle_node["data"]
    T = 50
    x = np.array(saddle_node["starts_plus"])
    for _ in range(T):
        x = sn_numpy(x)
    assert np.all(x > 0) and np.max(np.abs(sn_numpy(x) - x)) < 1e-2   # independent: still +, and slow
    census = map_memory_census(tanh_map, identity_readout, saddle_node["params"], states, inputs, targets,
                               saddle_node["fixed"], saddle_node["slow"], memory_steps=T, dtype=dtype)
    minus, plus = census.memories
    assert plus.held and plus.lifetime == -1 and plus.end_kind == "slow_point" and plus.n_held == 3
    assert plus.nearest_slow_point == 0 and plus.settled_at == -1
    assert plus.end_state[0] == pytest.approx(x[np.argmax(np.abs(sn_numpy(x) - x))], abs=1e-4)  # the worst end
    assert minus.held and minus.end_kind == "stable_point" and minus.settled_at == 0
    assert (census.n_memories, census.n_memories_at_stable_points, census.n_memories_at_slow_points) == (2, 1, 1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saddle_node_long_horizon_loses_the_pattern_after_its_lifetime(saddle_node, dtype):
    states, inputs, targets = saddle_node["data"]
    expected = min(sn_lifetime(x0) for x0 in saddle_node["starts_plus"])   # the first representative to lose it
    assert 250 < expected < 400
    census = map_memory_census(tanh_map, identity_readout, saddle_node["params"], states, inputs, targets,
                               saddle_node["fixed"], saddle_node["slow"], memory_steps=1000, dtype=dtype)
    minus, plus = census.memories
    assert not plus.held and plus.n_held == 0
    if dtype == "float64":
        assert plus.lifetime == expected
    else:   # XLA's float32 tanh is not numpy's: the bottleneck amplifies rounding by a step or two
        assert abs(plus.lifetime - expected) <= 3
    assert plus.end_kind == "stable_point" and plus.settled_at == 0    # lost: it ended on the other attractor
    assert (census.n_memories, census.n_memories_at_stable_points, census.n_memories_at_slow_points) == (1, 1, 0)
    assert "lost: + after" in census.summary_line()


# -- a GRU whose update gate saturates at a known fixed point ---------------------------------------

def saturated_gru(h0, b_z=8.0):
    """1-unit GRU: r ≈ 1, n(h) = tanh(2h), z = σ(b_z) constant (1 − z = σ(−b_z) ≈ 3.4e-4);
    its fixed points are ±h* (stable) and 0."""
    params = {name: np.zeros(shape, np.float32) for name, shape in parameter_shapes("gru", 1, 1, 1).items()}
    params.update(b_r=np.array([30.0], np.float32), b_z=np.array([b_z], np.float32),
                  w_hn=np.array([[2.0]], np.float32), w_out=np.array([[1.0]], np.float32),
                  h0=np.array([h0], np.float32))
    return RNN("gru", params)


def gru_numpy_settle_step(h0, h_star, z, n_steps, tol):
    """First k with |h_k − h*| ≤ tol iterating h ← z h + (1 − z) tanh(2h) in float64 from h0."""
    h = h0
    for k in range(n_steps + 1):
        if abs(h - h_star) <= tol:
            return k, h
        h = z * h + (1 - z) * np.tanh(2 * h)
    return -1, h


def test_gru_with_a_saturated_update_gate_holds_its_memory_at_the_stable_point():
    h_star = bistable_root(2.0)
    z = 1.0 / (1.0 + np.exp(-8.0))
    slope = z + (1 - z) * 2 * (1 - np.tanh(2 * h_star) ** 2)
    assert 0.999 < slope < 1            # stable, but the gate makes it converge over thousands of steps
    fixed = points([[h_star], [-h_star], [0.0]], [True, True, False])
    rnn = saturated_gru(h0=0.9)
    inputs = np.zeros((2, 16, 1), np.float32)
    targets = np.ones((2, 16, 1), np.float32)
    census = memory_census(rnn, inputs, targets, fixed, memory_steps=160, max_settle_steps=20000,
                           dtype="float64")
    minus, plus = census.memories
    assert minus.end_kind == "unvisited" and not minus.held
    h_T = 0.9
    for _ in range(1 + 160):         # the witness ends worst: the state at t = 0 (one step from h0), then T steps
        h_T = z * h_T + (1 - z) * np.tanh(2 * h_T)
    expected_k, _ = gru_numpy_settle_step(h_T, h_star, z, 20000, 1e-2)
    assert plus.held and plus.end_kind == "stable_point" and plus.settled_at == 0
    assert expected_k > 1000 and abs(plus.settle_steps - expected_k) <= 1
    assert plus.end_state[0] == pytest.approx(h_T, abs=1e-5)
    assert plus.end_speed == pytest.approx((1 - z) * abs(np.tanh(2 * h_T) - h_T), rel=1e-3)
    assert census.n_memories == census.n_memories_at_stable_points == 1


def test_without_settling_a_slowly_converging_gru_memory_reads_as_a_slow_point():
    h_star = bistable_root(2.0)
    fixed = points([[h_star], [-h_star], [0.0]], [True, True, False])
    inputs, targets = np.zeros((1, 16, 1), np.float32), np.ones((1, 16, 1), np.float32)
    census = memory_census(saturated_gru(h0=0.9), inputs, targets, fixed, max_settle_steps=0)
    plus = census.memories[1]
    assert plus.held and plus.end_kind == "slow_point" and plus.end_speed < 1e-4
    assert plus.nearest_fixed_point == 0 and plus.fixed_point_distance > 1e-2
    # started inside the tolerance ball: at the stable point at once
    near = memory_census(saturated_gru(h0=h_star - 1e-3), inputs, targets, fixed, max_settle_steps=0)
    assert near.memories[1].end_kind == "stable_point" and near.memories[1].settle_steps == 0


# -- decoupled bistable tanh units: N = 2 ------------------------------------------------------------

def bistable_rnn(n=2):
    """h' = tanh(3u + 2h), y = h: each unit a flip-flop of its own channel."""
    eye = np.eye(n, dtype=np.float32)
    return RNN("tanh", {"w_ih": 3 * eye, "w_hh": 2 * eye, "b_h": np.zeros(n, np.float32), "w_out": eye,
                        "b_out": np.zeros(n, np.float32), "h0": np.zeros(n, np.float32)})


def bistable_points(n=2):
    """The 3^n fixed points (each unit at −h*, 0 or h*); stable exactly when no unit is at 0."""
    h_star = bistable_root(2.0)
    xstar = np.array(list(itertools.product((-h_star, 0.0, h_star), repeat=n)))
    return points(xstar, np.all(xstar != 0, axis=1)), h_star


def test_decoupled_bistable_units_hold_all_four_patterns_at_stable_points():
    rnn = bistable_rnn()
    fixed, h_star = bistable_points()
    data = FlipFlopData(n_bits=2, n_time=32, p=0.5, random_seed=1).generate_data(16)
    census = memory_census(rnn, data["inputs"], data["targets"], fixed)
    assert (census.n_memories, census.n_memories_at_stable_points, census.n_memories_at_slow_points) == (4, 4, 0)
    for memory in census.memories:
        target = memory.pattern * h_star
        assert memory.held and memory.lifetime == -1 and memory.end_kind == "stable_point"
        np.testing.assert_allclose(fixed.xstar[memory.settled_at], target)
        np.testing.assert_allclose(memory.end_state, target, atol=1e-5)
        assert memory.n_states == memory.n_held == 32 and memory.end_speed < 1e-5


def test_a_pattern_never_visited_is_reported_and_not_held():
    rnn = bistable_rnn()
    fixed, _ = bistable_points()
    rng = np.random.default_rng(0)
    inputs = np.zeros((8, 20, 2), np.float32)
    inputs[:, ::5, 1] = rng.choice([-1.0, 1.0], size=(8, 4))
    inputs[:, 0, 0] = -1.0                   # channel 0 only ever holds −1: patterns +− and ++ never occur
    census = memory_census(rnn, inputs, hold_last_pulse(inputs), fixed)
    kinds = {tuple(m.pattern): m for m in census.memories}
    for pattern in [(1, -1), (1, 1)]:
        memory = kinds[pattern]
        assert memory.end_kind == "unvisited" and not memory.held and memory.n_states == 0
        assert np.all(np.isnan(memory.end_state)) and memory.nearest_fixed_point == -1
    assert census.n_memories == census.n_memories_at_stable_points == 2
    assert "never visited: 2" in census.summary_line()


def test_a_state_resting_on_a_saddle_is_an_unstable_point():
    """x' = tanh(2x) from x₀ = 0 stays at the unstable fixed point 0; the readout x + ½ keeps giving +."""
    h_star = bistable_root(2.0)
    fixed = points([[-h_star], [0.0], [h_star]], [True, False, True])
    states, inputs, targets = one_trial([0.0], +1)
    params = {"w": jnp.float32(2.0), "b": jnp.float32(0.0), "shift": jnp.float32(0.5)}
    census = map_memory_census(tanh_map, shifted_readout, params, states, inputs, targets, fixed)
    plus = census.memories[1]
    assert plus.held and plus.end_kind == "unstable_point" and plus.nearest_fixed_point == 1
    assert census.n_memories == 1 and census.n_memories_at_stable_points == census.n_memories_at_slow_points == 0


# -- a trained network -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_2bit():
    gen = FlipFlopData(n_bits=2, n_time=64, p=0.5, random_seed=0)
    train_data, valid_data, test_data = (gen.generate_data(k) for k in (512, 128, 128))
    rnn, history = train(RNN.init("tanh", 2, 3, 2, seed=0), train_data, valid_data, seed=0, verbose=False)
    assert history.converged
    _, hiddens = rnn(test_data["inputs"])
    finder = FixedPointFinder(rnn, verbose=False)
    unique, _ = finder.find_fixed_points(np.asarray(hiddens), np.zeros((1, 2)), n_inits=256)
    return rnn, test_data, unique, finder.slow_fps


def test_trained_2bit_net_holds_its_4_memories_at_stable_points(trained_2bit):
    rnn, data, unique, slow = trained_2bit
    census = memory_census(rnn, data["inputs"], data["targets"], unique, slow)
    assert (census.n_memories, census.n_memories_at_stable_points, census.n_memories_at_slow_points) == (4, 4, 0)
    p = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    _, states = rnn(data["inputs"])
    trial, time, ids = select_representatives(data["inputs"], data["targets"], 32)
    h = np.asarray(states, np.float64)[trial, time]
    patterns = all_patterns(2)[ids]
    for _ in range(640):                         # independent: the map in numpy float64, every representative
        h = np.tanh(h @ p["w_hh"] + p["b_h"])
        assert np.all((h @ p["w_out"] + p["b_out"]) * patterns > 0)
    for memory in census.memories:
        assert memory.held and memory.end_kind == "stable_point"
        attractor = unique.xstar[memory.settled_at]
        assert unique.is_stable[memory.settled_at]
        np.testing.assert_array_equal(np.sign(attractor @ p["w_out"] + p["b_out"]), memory.pattern)
        np.testing.assert_allclose(memory.end_state, attractor, atol=1e-4)
    again = memory_census(rnn, data["inputs"], data["targets"], unique, slow)      # same inputs, same numbers
    for name, value in census.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], value)


# -- every cell: the census's bookkeeping against a plain loop ---------------------------------------

@pytest.mark.parametrize("rnn_type", ["tanh", "gru", "lstm"])
def test_lifetimes_match_a_step_by_step_loop_for_every_cell(rnn_type):
    """Random cells from random states lose their patterns at all sorts of steps: each pattern's n_held,
    held, lifetime and witness against a Python loop over the cell (LSTM readout: h, the first half)."""
    rng = np.random.default_rng(1)
    params = dict(RNN.init(rnn_type, 2, 4, 2, seed=3).params)
    params.update(w_out=rng.normal(size=(4, 2)).astype(np.float32), b_out=rng.normal(0, 0.3, 2).astype(np.float32))
    if rnn_type == "tanh":
        params["w_hh"] = params["w_hh"] + 1.2 * np.eye(4, dtype=np.float32)   # slower, multistable
    d = 8 if rnn_type == "lstm" else 4
    states = rng.uniform(-1, 1, (8, 10, d)).astype(np.float32)
    inputs = np.zeros((8, 10, 2), np.float32)
    inputs[:, ::3] = rng.choice([-1.0, 0.0, 1.0], size=(8, 4, 2))
    targets = np.sign(states[..., :4] @ params["w_out"] + params["b_out"])   # the readout holds at the start
    T = 30
    census = map_memory_census(STEP_FUNCTIONS[rnn_type], readout, params, states, inputs, targets, None,
                               memory_steps=T, max_states_per_pattern=5)
    trial, time, ids = select_representatives(inputs, targets, 5)
    x, patterns = states[trial, time], all_patterns(2)[ids]
    lifetime, step = np.full(len(ids), -1), jax.jit(STEP_FUNCTIONS[rnn_type])
    for k in range(1, T + 1):
        x = np.asarray(step(params, x, np.zeros((len(ids), 2), np.float32)))
        lifetime[(lifetime < 0) & np.any((x[:, :4] @ params["w_out"] + params["b_out"]) * patterns <= 0, axis=1)] = k
    assert len(set(lifetime.tolist())) > 3                       # the case exercises the bookkeeping
    for p, memory in enumerate(census.memories):
        mine = ids == p
        assert memory.n_states == mine.sum() == 5 and memory.n_held == np.sum(lifetime[mine] < 0)
        assert memory.held == np.all(lifetime[mine] < 0)
        if not memory.held:
            first = np.min(lifetime[mine & (lifetime >= 0)])
            witness = np.flatnonzero(mine & (lifetime == first))[0]
            assert memory.lifetime == first
            np.testing.assert_allclose(memory.end_state, x[witness], atol=1e-5)


# -- representatives ---------------------------------------------------------------------------------

def test_representatives_are_the_most_settled_states_of_each_pattern():
    data = FlipFlopData(n_bits=2, n_time=12, p=0.4, random_seed=3).generate_data(6)
    inputs, targets = data["inputs"], data["targets"]
    cap = 3
    expected = []
    for code, pattern in enumerate(itertools.product((-1, 1), repeat=2)):
        found = []
        for b in range(inputs.shape[0]):
            last_pulse = -1
            for t in range(inputs.shape[1]):
                if np.any(inputs[b, t] != 0):
                    last_pulse = t
                if tuple(targets[b, t]) == pattern:
                    found.append((-(t - last_pulse), b, t))
        expected += [(b, t, code) for _, b, t in sorted(found)[:cap]]
    trial, time, ids = select_representatives(inputs, targets, cap)
    assert list(zip(trial.tolist(), time.tolist(), ids.tolist())) == expected


# -- the file group and the runs-table columns ------------------------------------------------------

@pytest.fixture(scope="module")
def census_with_gaps():
    """A census with held and unvisited patterns: channel 0 only ever holds −1."""
    rnn = bistable_rnn()
    fixed, _ = bistable_points()
    inputs = np.zeros((2, 10, 2), np.float32)
    inputs[:, 0] = [[-1, 1], [-1, -1]]
    return memory_census(rnn, inputs, hold_last_pulse(inputs), fixed, memory_steps=7)


def write_group(path, census):
    with atomic_h5(path, SCHEMA) as f:
        save_memories(f.create_group("memories"), census)


def assert_same_census(a, b):
    assert a.settings == b.settings
    for name, value in a.arrays().items():
        np.testing.assert_array_equal(b.arrays()[name], value)
    assert [m.end_kind for m in a.memories] == [m.end_kind for m in b.memories]


def test_group_round_trip_and_columns(tmp_path, census_with_gaps):
    path = tmp_path / "fp.h5"
    write_group(path, census_with_gaps)
    with read_h5(path, SCHEMA) as f:
        group = f["memories"]
        loaded = load_memories(group)
        assert group["pattern"].dtype == np.int8 and group["held"].dtype == np.bool_
        assert group["end_kind"].dtype == np.int8 and list(group.attrs["end_kind_names"]) == list(END_KINDS)
        assert group.attrs["memory_steps"] == 7 and group.attrs["n_memories"] == 2
        from_group = memory_columns(group)
    assert_same_census(census_with_gaps, loaded)
    expected = {"n_memories": 2, "n_memories_at_stable_points": 2, "n_memories_at_slow_points": 0}
    assert from_group == memory_columns(census_with_gaps) == expected
    assert all(value is pd.NA for value in memory_columns(None).values())
    assert list(memory_columns(None)) == list(expected)


@pytest.mark.parametrize("corrupt, message", [
    (lambda g: g.attrs.__setitem__("n_memories", 3), "n_memories=3 disagrees"),
    (lambda g: g.__delitem__("held"), "missing dataset /memories/held"),
    (lambda g: g.attrs.__setitem__("end_kind_names", ["a", "b"]), "end_kind_names"),
    (lambda g: g.__delitem__("pattern") or g.create_dataset("pattern", data=np.ones((4, 2), np.int8)),
     "binary order"),
    (lambda g: g.attrs.__delitem__("tol_slow"), "tol_slow"),
])
def test_a_damaged_group_is_refused_naming_the_file(tmp_path, census_with_gaps, corrupt, message):
    path = tmp_path / "fp.h5"
    write_group(path, census_with_gaps)
    with edited(path) as f:
        corrupt(f["memories"])
    with pytest.raises(FileFormatError, match=message) as error:
        with read_h5(path, SCHEMA) as f:
            load_memories(f["memories"])
    assert str(path) in str(error.value)


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(targets=np.ones((4, 10, 3))), r"targets must have shape \[4, 10, 2\]"),
    (dict(targets=np.ones((4, 9, 2))), r"targets must have shape \[4, 10, 2\]"),
    (dict(memory_steps=0), "memory_steps must be an integer >= 1 or None, got 0"),
    (dict(memory_steps=2.5), "memory_steps must be an integer >= 1 or None, got 2.5"),
    (dict(max_settle_steps=-1), "max_settle_steps must be an integer >= 0 or None"),
    (dict(tol_slow=-1.0), "tol_slow must be a number >= 0"),
    (dict(tol_speed="small"), "tol_speed must be a number >= 0"),
    (dict(dtype="float16"), "dtype must be one of float32, float64"),
    (dict(tolerance=1.0), r"unknown census option\(s\) \['tolerance'\]"),
    (dict(inputs=np.zeros((4, 10, 3))), r"inputs must have shape \[trials>0, time>0, 2\]"),
    (dict(fixed_points=points(np.zeros((1, 3)), [True])), "fixed_points have states of size 3"),
    (dict(fixed_points=FixedPoints(np.zeros((1, 2)))), "fixed_points lack is_stable"),
    (dict(slow_points=np.zeros((1, 2))), "slow_points must be a FixedPoints set or None"),
])
def test_bad_input_is_refused_with_one_clear_line(change, message):
    rnn = bistable_rnn()
    fixed, _ = bistable_points()
    arguments = dict(inputs=np.zeros((4, 10, 2)), targets=np.ones((4, 10, 2)), fixed_points=fixed, slow_points=None)
    arguments.update(change)
    positional = [arguments.pop(k) for k in ("inputs", "targets", "fixed_points", "slow_points")]
    with pytest.raises(ValueError, match=message):
        memory_census(rnn, *positional, **arguments)


def test_too_many_outputs_for_a_census_are_refused():
    with pytest.raises(ValueError, match="integer in 1..16"):
        all_patterns(17)


@pytest.mark.parametrize("dimension", [1, 3, 8, 17, 128])
def test_pairwise_distances_equal_scipys_cdist_bit_for_bit(dimension):
    from scipy.spatial.distance import cdist      # the reference: the function the census used before
    rng = np.random.default_rng(dimension)
    a, b = rng.normal(size=(40, dimension)), rng.normal(size=(9, dimension)) * 3
    np.testing.assert_array_equal(pairwise_distances(a, b), cdist(a, b))
