"""Continuation of fixed points in the input: against closed forms, long simulations, and on files.

Closed forms: x' = tanh(w x + s) (w > 1) has folds where w(1 − x²) = 1, at x_c = ±√(1 − 1/w) and
s_c = atanh(x_c) − w·x_c, i.e. s = ±v_c with v_c = w·x_c − atanh(x_c) for x_c > 0; its Jacobian
is w(1 − x²). Maps with a known flip (a real eigenvalue −(0.5 + s)) and Neimark–Sacker (a rotation
scaled by 0.8 + s) bifurcation. Trained networks are checked by simulating them at constant and
slowly ramped inputs.
"""

import importlib.util
import itertools
import math
from pathlib import Path

import h5py
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

from fixedpoints import FixedPointFinder, FlipFlopData, RNN, save_model, train
from fixedpoints.cli import run_script
from fixedpoints.branches import (continuation_columns, flip_columns, load_continuation, removal_amplitudes,
                                  start_bits)
from fixedpoints.continuation import continue_fixed_points
from fixedpoints.equations import map_equation
from fixedpoints.finder import x64_scope
from fixedpoints.io import FileFormatError
from fixedpoints.models import STEP_FUNCTIONS
from fixedpoints.plotting import save_figure
from fixedpoints.plotting.bifurcation import plot_bifurcation
from reliability_support import edited

QUIET = dict(verbose=False)
SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "continuation.py"
spec = importlib.util.spec_from_file_location("continuation_script", SCRIPT)
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def fold(w):
    """(x_c > 0, v_c > 0): x' = tanh(w x + v) has folds at (x, v) = (∓x_c, ±v_c)."""
    x_c = math.sqrt(1.0 - 1.0 / w)
    return x_c, w * x_c - math.atanh(x_c)


def bistable_root(w):
    """The positive root a of x = tanh(w x)."""
    return brentq(lambda x: x - math.tanh(w * x), 1e-3, 2.0)


def tanh_units(params, x, u):
    """Decoupled units x' = tanh(w x + u) (one input per unit)."""
    return jnp.tanh(params["w"] * x + u)


def identity(params, x):
    return x


# -- closed forms ---------------------------------------------------------------------------------

W = 2.0
A = bistable_root(W)
UNIT_STARTS = np.array([[-A], [0.0], [A]])
UNIT_RNN = RNN("tanh", {"w_ih": np.ones((1, 1), np.float32), "w_hh": np.full((1, 1), W, np.float32),
                        "b_h": np.zeros(1, np.float32), "w_out": np.ones((1, 1), np.float32),
                        "b_out": np.zeros(1, np.float32), "h0": np.zeros(1, np.float32)})


@pytest.fixture(scope="module")
def unit():
    """One unit x' = tanh(2x + u) as a callable map, from its 3 fixed points along u = ±s."""
    return continue_fixed_points(map_equation(tanh_units), UNIT_STARTS, np.array([[1.0], [-1.0]]),
                                 params={"w": W}, readout=identity, **QUIET)


@pytest.mark.parametrize("system", ["map_equation", "RNN"])
def test_fold_of_one_tanh_unit_is_located_to_1e_6(unit, system):
    cont = unit if system == "map_equation" else continue_fixed_points(UNIT_RNN, UNIT_STARTS, **QUIET)
    x_c, v_c = fold(W)
    bif = cont.bifurcations
    assert list(bif["kind"]) == ["fold"] * 4
    np.testing.assert_allclose(bif["s"], v_c, atol=1e-6)                      # s_c = atanh(x_c) − w x_c, both signs
    sign = cont.sign[cont.branch_direction[bif["branch"]]]
    np.testing.assert_allclose(bif["x"][:, 0], -sign * x_c, atol=1e-6)
    np.testing.assert_allclose(bif["eigenvalues"][:, 0], 1.0, atol=1e-6)     # a real eigenvalue crosses 1 there
    # every point of every branch solves the closed form, with its closed-form eigenvalue
    u = cont.s * cont.sign[np.repeat(cont.branch_direction, np.diff(cont.offsets))]
    x = cont.x[:, 0]
    np.testing.assert_allclose(np.tanh(W * x + u), x, atol=1e-10)
    np.testing.assert_allclose(cont.eigenvalues[:, 0], W * (1 - x ** 2), atol=1e-10)
    slope = W * (1 - x ** 2)
    np.testing.assert_array_equal(cont.is_stable[np.abs(slope - 1) > 1e-6], slope[np.abs(slope - 1) > 1e-6] < 1)


def test_branch_through_the_fold_returns_to_the_saddle(unit):
    # +s from the attractor −a: fold at v_c, back to s = 0 on the saddle 0; from +a: on to s = 1
    for b in range(unit.n_branches):
        branch = unit.branch(b)
        start_x, sign = UNIT_STARTS[branch["start"], 0], unit.sign[branch["direction"]]
        if start_x * sign <= 0:           # an attractor against the input, or the saddle: meets the other at the fold
            partner = 1 if start_x != 0 else (0 if sign > 0 else 2)
            assert branch["status"] == "returned" and branch["end"] == partner
            assert branch["s"][-1] == 0.0 and abs(branch["x"][-1, 0] - UNIT_STARTS[partner, 0]) < 1e-12
            assert np.ptp(np.sign(branch["tangent_s"])) == 2                 # turned back in s
            (row,) = np.flatnonzero(unit.bifurcations["branch"] == b)
            assert (unit.bifurcations["fixed_point_before"][row], unit.bifurcations["fixed_point_after"][row]) == (
                branch["start"], partner)
            assert not unit.bifurcations["creates_attractor"][row]
        elif start_x != 0:                 # an attractor along the input: stays, to s = 1
            assert branch["status"] == "amplitude" and branch["s"][-1] == 1.0
            expected = brentq(lambda x, sign=sign: x - math.tanh(W * x + sign), -2, 2)
            assert abs(branch["x"][-1, 0] - expected) < 1e-12 and np.all(branch["is_stable"])
            assert np.all(np.diff(branch["s"]) > 0)
    # the saddle's branch along −s meets the attractor +a: the same fold, found from both ends
    np.testing.assert_array_equal(np.sort(unit.branch_end[unit.branch_status == "returned"]), [0, 1, 1, 2])


@pytest.fixture(scope="module")
def decoupled():
    """Three decoupled units x' = tanh(1.5 x + u) from their 27 fixed points, along ±e_k."""
    w = 1.5
    a = bistable_root(w)
    starts = np.array(list(itertools.product((-a, 0.0, a), repeat=3)))
    cont = continue_fixed_points(map_equation(tanh_units), starts, np.kron(np.eye(3), [[1.0], [-1.0]]),
                                 params={"w": w}, readout=identity, **QUIET)
    return w, a, starts, cont


def test_decoupled_units_fold_at_the_same_amplitude_on_every_channel(decoupled):
    w, a, starts, cont = decoupled
    x_c, v_c = fold(w)
    np.testing.assert_array_equal(cont.channel, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(cont.sign, [1, -1] * 3)
    bif = cont.bifurcations
    assert set(bif["kind"]) == {"fold"}
    np.testing.assert_allclose(bif["s"], v_c, atol=1e-6)
    for j in range(6):
        k, sign = cont.channel[j], cont.sign[j]
        rows = np.flatnonzero(cont.branch_direction[bif["branch"]] == j)
        assert len(rows) == 2 * 9          # the starts with x_k = −sign·a or 0 (9 each) meet at a fold
        np.testing.assert_allclose(bif["x"][rows, k], -sign * x_c, atol=1e-6)
        before, after = bif["fixed_point_before"][rows], bif["fixed_point_after"][rows]
        others = np.delete(np.arange(3), k)
        # the two u = 0 points that meet differ in coordinate k only (−sign·a and 0)
        np.testing.assert_allclose(starts[before][:, others], starts[after][:, others], atol=1e-12)
        np.testing.assert_allclose(np.sort(np.abs(starts[before][:, k] - starts[after][:, k])), a, atol=1e-12)
        np.testing.assert_allclose(bif["x"][rows][:, others], starts[cont.branch_start[bif["branch"][rows]]][:, others],
                                   atol=1e-12)


def test_flip_columns_of_decoupled_units(decoupled):
    w, a, starts, cont = decoupled
    _, v_c = fold(w)
    np.testing.assert_array_equal(start_bits(cont)[cont.start_is_stable], np.sign(starts[cont.start_is_stable]))
    columns = flip_columns(cont)
    assert columns["flips_cleanly"] is True
    assert abs(columns["fold_amplitude_min"] - v_c) < 1e-6 and abs(columns["fold_amplitude_max"] - v_c) < 1e-6
    r = removal_amplitudes(cont)
    stable = cont.start_is_stable
    assert np.all(np.isnan(r[~stable]))
    for j in range(6):
        against = stable & (np.sign(starts[:, cont.channel[j]]) == -cont.sign[j])
        np.testing.assert_allclose(r[against, j], v_c, atol=1e-6)
        assert np.all(r[stable & ~against, j] == np.inf)


def test_a_pulse_below_the_fold_flips_nothing(decoupled):
    w, _, starts, _ = decoupled
    cont = continue_fixed_points(map_equation(tanh_units), starts, np.kron(np.eye(3), [[1.0], [-1.0]]),
                                 params={"w": w}, readout=identity, amplitude=0.8 * fold(w)[1], **QUIET)
    assert len(cont.bifurcations["s"]) == 0 and set(cont.branch_status) == {"amplitude"}
    columns = flip_columns(cont)
    assert columns == {"fold_amplitude_min": math.inf, "fold_amplitude_max": math.inf, "flips_cleanly": False}


def test_s_shaped_branch_passes_two_folds_and_creates_an_attractor():
    # x' = tanh(2x − 1 + u): one fixed point at u = 0; a pair is born at u = 1 − v_c and the lower
    # attractor dies with the saddle at u = 1 + v_c
    def biased(params, x, u):
        return jnp.tanh(W * x - 1.0 + u)

    start = brentq(lambda x: x - math.tanh(W * x - 1.0), -2, 0)
    x_c, v_c = fold(W)
    cont = continue_fixed_points(map_equation(biased), [[start]], [[1.0]], readout=identity, amplitude=2.0, **QUIET)
    bif = cont.bifurcations
    assert list(bif["kind"]) == ["fold", "fold"]
    np.testing.assert_allclose(bif["s"], [1 + v_c, 1 - v_c], atol=1e-6)
    np.testing.assert_allclose(bif["x"][:, 0], [-x_c, x_c], atol=1e-6)
    np.testing.assert_array_equal(bif["creates_attractor"], [False, True])
    np.testing.assert_array_equal(bif["fixed_point_before"], [0, -1])
    np.testing.assert_array_equal(bif["fixed_point_after"], [-1, -1])
    branch = cont.branch(0)
    assert branch["status"] == "amplitude"
    assert abs(branch["x"][-1, 0] - brentq(lambda x: x - math.tanh(W * x + 1.0), 0, 2)) < 1e-12
    np.testing.assert_array_equal(branch["n_unstable"][[0, -1]], [0, 0])
    assert branch["n_unstable"].max() == 1


def test_flip_and_neimark_sacker_are_located():
    # x1' = −(0.5 + u) tanh(x1): a real eigenvalue −(0.5 + s) reaches −1 at s = 0.5;
    # (x2, x3)' = (0.8 + u) R(1) tanh(x2, x3): the pair (0.8 + s) e^(±i) leaves the unit circle at s = 0.2
    rotation = np.array([[math.cos(1.0), -math.sin(1.0)], [math.sin(1.0), math.cos(1.0)]])

    def spiral(params, x, u):
        return jnp.concatenate([-(0.5 + u) * jnp.tanh(x[:1]), (0.8 + u) * (params["R"] @ jnp.tanh(x[1:]))])

    cont = continue_fixed_points(map_equation(spiral), np.zeros((1, 3)), [[1.0]], params={"R": rotation},
                                 readout=identity, **QUIET)
    bif = cont.bifurcations
    assert list(bif["kind"]) == ["neimark_sacker", "flip"]
    np.testing.assert_allclose(bif["s"], [0.2, 0.5], atol=1e-6)
    ns, flip = bif["eigenvalues"]
    np.testing.assert_allclose(np.sort_complex(ns[:2]), np.exp([-1j, 1j]), atol=1e-6)
    assert np.min(np.abs(flip + 1.0)) < 1e-6
    np.testing.assert_array_equal(bif["creates_attractor"], [False, False])
    assert cont.branch_status[0] == "amplitude"
    np.testing.assert_array_equal(np.unique(cont.n_unstable), [0, 2, 3])


def test_gru_whose_update_gate_saturates_still_continues():
    # b_z = 30: 1 − z ≈ 1e-13, so F(h) − h ≈ 0 everywhere; the reduced equation n(h) − h = tanh(u + 2h) − h
    # (r = 1/2, w_hn = 4) keeps the fold of the closed form
    z1, z0 = np.zeros((1, 1), np.float32), np.zeros(1, np.float32)
    params = {"w_ir": z1, "w_hr": z1, "b_r": z0, "w_iz": z1, "w_hz": z1, "b_z": np.full(1, 30.0, np.float32),
              "w_in": np.ones((1, 1), np.float32), "w_hn": np.full((1, 1), 2 * W, np.float32), "b_n": z0,
              "w_out": np.ones((1, 1), np.float32), "b_out": z0, "h0": z0}
    cont = continue_fixed_points(RNN("gru", params), UNIT_STARTS, **QUIET)
    x_c, v_c = fold(W)
    assert list(cont.bifurcations["kind"]) == ["fold"] * 4
    np.testing.assert_allclose(cont.bifurcations["s"], v_c, atol=1e-6)
    u = cont.s * cont.sign[np.repeat(cont.branch_direction, np.diff(cont.offsets))]
    np.testing.assert_allclose(np.tanh(W * cont.x[:, 0] + u), cont.x[:, 0], atol=1e-10)
    assert np.max(np.abs(cont.eigenvalues - 1.0)) < 1e-12                  # the full map barely moves
    slope = W * (1 - cont.x[:, 0] ** 2)
    far = np.abs(slope - 1) > 0.05
    np.testing.assert_array_equal(cont.is_stable[far], slope[far] < 1)      # still classified right
    np.testing.assert_array_equal(np.sort(cont.branch_end[cont.branch_status == "returned"]), [0, 1, 1, 2])


@pytest.mark.parametrize("rnn_type", ["tanh", "gru", "lstm"])
def test_branch_points_are_fixed_points_of_the_cell(rnn_type):
    rnn = RNN.init(rnn_type, n_inputs=2, n_hidden=3, n_outputs=2, seed=4)
    rnn = RNN(rnn_type, {k: v * 4 if k.startswith("w_h") else v for k, v in rnn.params.items()})
    start = np.zeros((1, rnn.state_size))                       # every cell rests at 0 with zero biases and input
    cont = continue_fixed_points(rnn, start, **QUIET)
    assert cont.n_branches == 4 and len(cont.s) > 4 * 10
    u = cont.s[:, None] * cont.vectors[np.repeat(cont.branch_direction, np.diff(cont.offsets))]
    with x64_scope():
        params = {k: jnp.asarray(v, jnp.float64) for k, v in rnn.params.items()}
        F = np.asarray(STEP_FUNCTIONS[rnn_type](params, jnp.asarray(cont.x), jnp.asarray(u)))
        # at each located bifurcation, the central-difference Jacobian of the cell's map has its critical
        # eigenvalue: 1 at a fold, a complex pair on the unit circle at a Neimark–Sacker point
        bif = cont.bifurcations
        u_star = bif["s"][:, None] * cont.vectors[cont.branch_direction[bif["branch"]]]
        for kind, x, u in zip(bif["kind"], bif["x"], u_star):
            eps = 1e-6 * np.eye(len(x))
            J = np.array([np.asarray(STEP_FUNCTIONS[rnn_type](params, jnp.asarray(x + e), jnp.asarray(u))
                                     - STEP_FUNCTIONS[rnn_type](params, jnp.asarray(x - e), jnp.asarray(u)))
                          for e in eps]).T / 2e-6
            eigval = np.linalg.eigvals(J)
            critical = eigval[np.abs(eigval.imag) > 1e-3] if kind == "neimark_sacker" else eigval
            assert np.min(np.abs((np.abs(critical) if kind == "neimark_sacker" else critical) - 1.0)) < 1e-5, kind
    assert np.max(np.abs(F - cont.x)) < 1e-9
    assert rnn_type == "tanh" or {"fold", "neimark_sacker"} <= set(bif["kind"])     # these nets have both
    np.testing.assert_allclose(cont.start_x, start, atol=1e-12)
    np.testing.assert_array_equal(cont.is_stable, np.abs(cont.eigenvalues[:, 0]) < 1)


def test_options_and_arguments_are_checked():
    for options, match in (({"step_max": -1.0}, "step_max must be a number > 0"),
                           ({"amplitude": 0}, "amplitude must be a number > 0"),
                           ({"step_init": 1.0}, "step_min <= step_init <= step_max"),
                           ({"max_steps": 2.5}, "max_steps must be an integer >= 1"),
                           ({"stepmax": 1}, "unknown continuation option")):
        with pytest.raises(ValueError, match=match):
            continue_fixed_points(UNIT_RNN, UNIT_STARTS, **options)
    with pytest.raises(ValueError, match=r"directions must have shape \[D>0, 1\]"):
        continue_fixed_points(UNIT_RNN, UNIT_STARTS, np.ones((2, 3)))
    with pytest.raises(ValueError, match="cannot map a state"):
        continue_fixed_points(UNIT_RNN, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="directions"):
        continue_fixed_points(map_equation(tanh_units), UNIT_STARTS, params={"w": W})
    with pytest.raises(ValueError, match="system must be"):
        continue_fixed_points(tanh_units, UNIT_STARTS)


# -- trained networks ---------------------------------------------------------------------------

def trained(n_bits, n_hidden, seed):
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    train_data, valid_data, test_data = (gen.generate_data(k) for k in (512, 128, 128))
    rnn, history = train(RNN.init("tanh", n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data, seed=seed,
                         verbose=False)
    assert history.converged
    _, hiddens = rnn(test_data["inputs"])
    fps, _ = FixedPointFinder(rnn, **QUIET).find_fixed_points(np.asarray(hiddens), np.zeros((1, n_bits)),
                                                              n_inits=256)
    assert fps.is_stable.sum() == 2 ** n_bits
    return rnn, history, fps


@pytest.fixture(scope="module")
def nets():
    """Trained default tanh nets (2-bit/3 units, 3-bit/4 units) with their fixed points and continuation."""
    out = {}
    for name, (n_bits, n_hidden, seed) in {"2bit": (2, 3, 0), "3bit": (3, 4, 1)}.items():
        rnn, history, fps = trained(n_bits, n_hidden, seed)
        out[name] = rnn, history, fps, continue_fixed_points(rnn, fps, **QUIET)
    return out


def simulate(rnn, h0_bxd, u_txbxm):
    """Iterate h' = tanh(u @ w_ih + h @ w_hh + b_h) in float64 numpy; the readout [b, o] at the end."""
    p = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    h = np.array(h0_bxd, np.float64)
    for u in u_txbxm:
        h = np.tanh(u @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])
    return h @ p["w_out"] + p["b_out"]


@pytest.mark.parametrize("name", ["2bit", "3bit"])
def test_every_pulse_removes_the_opposite_attractors_before_amplitude_1(nets, name):
    rnn, _, fps, cont = nets[name]
    columns = flip_columns(cont)
    assert columns["flips_cleanly"] is True and 0 < columns["fold_amplitude_min"] <= columns["fold_amplitude_max"] < 1
    r, bits = removal_amplitudes(cont), start_bits(cont)
    cases = []           # (start state, direction vector, channel, sign, removal amplitude)
    for j, (k, sign) in enumerate(zip(cont.channel, cont.sign)):
        for i in np.flatnonzero(cont.start_is_stable & (bits[:, k] == -sign)):
            assert r[i, j] < 1.0
            cases.append((cont.start_x[i], cont.vectors[j], k, sign, r[i, j]))
    x0 = np.array([c[0] for c in cases])
    a = np.array([c[1] for c in cases])
    k = np.array([c[2] for c in cases])
    sign = np.array([c[3] for c in cases])
    s_fold = np.array([c[4] for c in cases])
    rows = np.arange(len(cases))
    # a held pulse of amplitude 1 flips bit k from every attractor of the opposite bit
    y = simulate(rnn, x0, np.broadcast_to(a, (1000,) + a.shape))
    np.testing.assert_array_equal(np.sign(y[rows, k]), sign)
    # an input ramped slowly to just below the located fold and held keeps the bit; just above, flips it
    ramp = np.concatenate([np.linspace(0, 1, 3000), np.ones(1000)])[:, None, None]
    for offset, expected in ((-0.02, -sign), (0.02, sign)):
        y = simulate(rnn, x0, ramp * ((s_fold + offset)[:, None] * a)[None])
        np.testing.assert_array_equal(np.sign(y[rows, k]), expected)


@pytest.mark.parametrize("name", ["2bit", "3bit"])
def test_branches_return_onto_the_fixed_points_the_finder_found(nets, name):
    _, _, fps, cont = nets[name]
    np.testing.assert_allclose(cont.start_x, fps.xstar, atol=1e-4)      # polished in float64, same points
    np.testing.assert_array_equal(cont.start_is_stable, fps.is_stable)
    returned = cont.branch_status == "returned"
    assert returned.any() and np.all(cont.branch_end[returned] >= 0)
    # an attractor removed by a fold meets an index-1 saddle of u = 0
    folds = cont.bifurcations["kind"] == "fold"
    from_attractor = folds & cont.start_is_stable[cont.branch_start[cont.bifurcations["branch"]]]
    after = cont.bifurcations["fixed_point_after"][from_attractor]
    assert np.all(after >= 0) and np.all(cont.start_n_unstable[after] == 1)


# -- the script, the file, the figure ---------------------------------------------------------------

def run(argv, capsys):
    code = run_script(script.main, [str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def run_files(nets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("continuation_script")
    rnn, history, fps, _ = nets["2bit"]
    save_model(rnn, folder / "model.h5", history=history)
    fps.save(folder / "fixed_points.h5")
    fps[:0].save(folder / "skipped.h5", attrs={"skipped_reason": "training diverged"})
    return folder


def test_script_writes_what_the_library_computes(nets, run_files, capsys):
    out = run_files / "continuation.h5"
    code, err = run(["--model", run_files / "model.h5", "--fixed-points", run_files / "fixed_points.h5",
                     "--out", out], capsys)
    assert code == 0, err
    assert "continuation: done" in err
    cont, expected = load_continuation(out), nets["2bit"][3]
    for name in ("s", "x", "eigenvalues", "n_unstable", "readout", "offsets", "branch_status", "branch_end"):
        np.testing.assert_array_equal(getattr(cont, name), getattr(expected, name))   # same numbers, bit for bit
    np.testing.assert_array_equal(cont.bifurcations["s"], expected.bifurcations["s"])
    assert cont.attrs["model"] == str(run_files / "model.h5") and cont.attrs["rnn_type"] == "tanh"
    assert (cont.attrs["n_bits"], cont.attrs["seed"], cont.attrs["amplitude"]) == (2, 0, 1.0)
    assert cont.attrs["wall_s"] > 0
    assert continuation_columns(out) == flip_columns(expected)
    fig = plot_bifurcation(cont)
    assert fig.get_suptitle().startswith("2-bit tanh seed 0: flips cleanly")


def test_script_on_a_skipped_run_writes_a_file_without_branches(run_files, capsys):
    out = run_files / "skipped_continuation.h5"
    code, err = run(["--model", run_files / "model.h5", "--fixed-points", run_files / "skipped.h5", "--out", out],
                    capsys)
    assert code == 0, err
    cont = load_continuation(out)
    assert cont.n_branches == 0 and len(cont.s) == 0 and cont.attrs["skipped_reason"] == "training diverged"
    columns = continuation_columns(out)
    assert math.isnan(columns["fold_amplitude_min"]) and columns["flips_cleanly"] is None
    (text,) = [t for t in plot_bifurcation(cont).findobj() if t.get_gid() == "message"]
    assert "skipped: training diverged" in text.get_text()


def test_script_bad_input_gives_one_error_line(run_files, capsys):
    model, fixed_points, out = run_files / "model.h5", run_files / "fixed_points.h5", run_files / "bad.h5"
    for argv, message in (
            (["--model", run_files / "missing.h5", "--fixed-points", fixed_points], "missing.h5: file not found"),
            (["--model", model, "--fixed-points", model], "schema is 'fixedpoints/model', expected "
                                                          "'fixedpoints/fixed_points'"),
            (["--model", model, "--fixed-points", fixed_points, "--step-max", "-1"], "step_max must be a number > 0")):
        code, err = run([*argv, "--out", out], capsys)
        assert code == 1 and err.count("\n") == 1 and err.startswith("error: ") and message in err, err
        assert not out.exists()
    save_model(RNN.init("tanh", 2, 5, 2, seed=0), run_files / "other.h5")
    code, err = run(["--model", run_files / "other.h5", "--fixed-points", fixed_points, "--out", out], capsys)
    assert code == 1 and "state size 3, but" in err and not out.exists()


def test_file_round_trip_and_damaged_files(unit, tmp_path):
    path = tmp_path / "continuation.h5"
    unit.save(path, attrs={"model": "x.h5"})
    back = load_continuation(path)
    for field in ("vectors", "channel", "sign", "start_x", "start_eigenvalues", "start_is_stable", "start_n_unstable",
                  "start_readout", "branch_start", "branch_direction", "branch_status", "branch_end", "offsets", "s",
                  "x", "tangent_s", "eigenvalues", "is_stable", "n_unstable", "readout"):
        np.testing.assert_array_equal(getattr(back, field), getattr(unit, field), err_msg=field)
    for name, value in unit.bifurcations.items():
        np.testing.assert_array_equal(back.bifurcations[name], value, err_msg=name)
    assert back.attrs["model"] == "x.h5" and back.attrs["amplitude"] == 1.0
    with h5py.File(path) as f:
        assert (f.attrs["schema"], f.attrs["schema_version"]) == ("fixedpoints/continuation", 1)
        assert f["branches/x"].fletcher32 and f["bifurcations/kind"][0] == b"fold"
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="damaged.h5"):
        load_continuation(damaged)
    inconsistent = tmp_path / "inconsistent.h5"
    inconsistent.write_bytes(path.read_bytes())
    with edited(inconsistent) as f:
        offsets = f["branches/offsets"][()]
        del f["branches/offsets"]
        f["branches/offsets"] = offsets[::-1]
    with pytest.raises(FileFormatError, match=r"inconsistent.h5: dataset /branches/offsets must rise"):
        load_continuation(inconsistent)


def gids(fig, prefix):
    return [a for ax in fig.axes for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def test_figure_has_a_panel_per_channel_with_branches_and_folds(decoupled, tmp_path):
    w, a, starts, cont = decoupled
    x_c, v_c = fold(w)
    fig = plot_bifurcation(cont, title="three units")
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == [f"pulse on bit {k + 1}" for k in range(3)]
    for ax in panels:
        (folds,) = [a for a in ax.get_lines() if a.get_gid() == "bifurcation:fold"]
        u, y = folds.get_data()
        # along +e_k the fold sits at (v_c, −x_c), along −e_k at (−v_c, x_c)
        np.testing.assert_allclose(np.abs(u), v_c, atol=1e-6)
        np.testing.assert_allclose(y, -np.sign(u) * x_c, atol=1e-6)
        (stable,) = [a for a in ax.get_lines() if a.get_gid() == "branch:stable"]
        (saddle,) = [a for a in ax.get_lines() if a.get_gid() == "branch:index1"]
        assert stable.get_linestyle() == "-" and saddle.get_linestyle() == "--"
        u, y = stable.get_data()
        finite = np.isfinite(y)
        assert np.all(np.abs(y[finite]) >= x_c - 1e-6)              # stable: |x_k| ≥ x_c, where w(1 − x²) ≤ 1
        assert np.min(u[finite]) == -1.0 and np.max(u[finite]) == 1.0
    assert len(gids(fig, "fixed_points:stable")) == 3
    texts = [t for t in fig.findobj() if hasattr(t, "get_fontsize") and hasattr(t, "get_text") and t.get_text()]
    assert min(t.get_fontsize() for t in texts) >= 8
    assert save_figure(fig, tmp_path / "bifurcation.png").read_bytes().startswith(b"\x89PNG")
