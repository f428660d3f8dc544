"""Interval certification against closed forms, exhaustive float64 searches and higher-precision arithmetic."""

import decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, fsolve

from fixedpoints import FixedPointFinder, RNN, certify
from fixedpoints import interval as iv
from fixedpoints.certification import (Certificate, cross_check, enclose, judge, load_certificate, prepare,
                                 save_certificate)
from fixedpoints.io import FileFormatError, atomic_h5, read_h5
from fixedpoints.models import parameter_shapes
from test_finder import trained_net
from reliability_support import edited


def make_rnn(rnn_type, n, seed=0, scale=1.0, zero_bias=False, n_inputs=2, **fixed):
    """A network with float32 weights drawn as RNN.init draws them (input weights N(0, 0.1²), recurrent
    N(0, 0.5²)) with recurrent weights × ``scale``, biases N(0, 0.5²) or zero, and the parameters in
    ``fixed`` (any float arrays) set as given."""
    rng = np.random.default_rng(seed)
    def std(name):
        if name in ("w_out", "b_out", "h0"):
            return 0.1
        return {"w_i": 0.1, "w_h": 0.5 * scale, "b_": 0.0 if zero_bias else 0.5}[name[:3] if name[0] == "w" else "b_"]
    params = {name: (rng.normal(size=shape) * std(name)).astype(np.float32)
              for name, shape in parameter_shapes(rnn_type, n_inputs, n, 2).items()}
    for name, value in fixed.items():
        params[name] = np.asarray(value, np.float32).reshape(params[name].shape)
    return RNN(rnn_type, params)


def tanh_map(w_hh, b=None):
    """x' = tanh(x @ w_hh + b) with no input weight (u has no effect)."""
    w_hh = np.atleast_2d(np.asarray(w_hh, np.float32))
    n = w_hh.shape[0]
    return make_rnn("tanh", n, w_hh=w_hh, b_h=np.zeros(n) if b is None else b, w_ih=np.zeros((2, n)))


def assert_consistent(cert: Certificate, roots_rxn, tol=0.0):
    """The certificate's claim against independently known roots: each proved enclosure (widened by
    ``tol``, the roots' own error) holds exactly one of them, and every root is in a proved enclosure
    or an undecided box — never two roots behind one proved root, never a root excluded."""
    roots = np.asarray(roots_rxn, np.float64).reshape(len(roots_rxn), -1)
    in_root = np.all((roots[:, None] >= cert.root_lo[None] - tol) & (roots[:, None] <= cert.root_hi[None] + tol),
                     axis=2)
    in_undecided = np.all((roots[:, None] >= cert.undecided_lo[None] - tol)
                          & (roots[:, None] <= cert.undecided_hi[None] + tol), axis=2)
    assert np.all(in_root.sum(axis=0) == 1), f"a proved root encloses {in_root.sum(axis=0)} known roots"
    assert np.all(in_root.any(axis=1) | in_undecided.any(axis=1)), "a known root was excluded"
    assert np.all(cert.root_lo <= cert.root_mid) and np.all(cert.root_mid <= cert.root_hi)
    assert np.all(cert.unique_lo <= cert.root_lo) and np.all(cert.root_hi <= cert.unique_hi)


def nonzero_root(w):
    """x* > 0 with x* = tanh(w x*), for the float32 weight nearest to w (the network's weight)."""
    w = np.float64(np.float32(w))
    return brentq(lambda x: np.tanh(w * x) - x, 1e-3, 1.0, xtol=1e-16)


# -- closed forms -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("w", [1.2, 1.5, 3.0])
def test_scalar_tanh_map_has_exactly_three_proved_roots(w):
    x_star = nonzero_root(w)
    cert = certify(tanh_map([[w]]))
    assert cert.certified and cert.n_undecided == 0 and cert.n_roots == 3
    assert_consistent(cert, [[-x_star], [0.0], [x_star]], tol=1e-14)
    assert np.all(cert.root_hi - cert.root_lo < 1e-13)                   # tight enclosures
    np.testing.assert_allclose(cert.root_mid[:, 0], [-x_star, 0.0, x_star], atol=1e-14)


def test_contracting_scalar_map_has_only_the_origin(capsys):
    cert = certify(tanh_map([[0.5]]), verbose=True)
    assert cert.certified and cert.n_roots == 1
    assert cert.root_lo[0, 0] <= 0.0 <= cert.root_hi[0, 0]
    assert f"certify: {cert.n_boxes} boxes judged" in capsys.readouterr().err


@pytest.mark.parametrize("weights", [(1.3, 2.0), (1.5, 4.0, 1.2)])
def test_decoupled_units_have_3_to_the_d_proved_roots(weights):
    per_unit = [(-nonzero_root(w), 0.0, nonzero_root(w)) for w in weights]
    roots = np.array(np.meshgrid(*per_unit, indexing="ij")).reshape(len(weights), -1).T
    cert = certify(tanh_map(np.diag(weights)))
    assert cert.certified and cert.n_roots == 3 ** len(weights)
    assert_consistent(cert, roots, tol=1e-14)


def test_boxes_without_a_fixed_point_are_excluded():
    x_star = nonzero_root(1.5)
    rnn = tanh_map([[1.5]])
    empty = certify(rnn, box=([0.1], [x_star - 0.05]))
    assert empty.certified and empty.n_roots == 0 and empty.n_boxes >= 1
    one = certify(rnn, box=([0.1], [1.0]))
    assert one.certified and one.n_roots == 1
    assert_consistent(one, [[x_star]], tol=1e-14)
    # 2D: x' = tanh(0.5 x + 0.9), y' = tanh(2 y): one root in x, three in y, none elsewhere
    shifted = tanh_map(np.diag([0.5, 2.0]), b=[0.9, 0.0])
    x_root = brentq(lambda x: np.tanh(0.5 * x + np.float64(np.float32(0.9))) - x, 0, 1, xtol=1e-16)
    cert = certify(shifted)
    assert cert.certified and cert.n_roots == 3
    assert_consistent(cert, [[x_root, y] for y in (-nonzero_root(2.0), 0.0, nonzero_root(2.0))], tol=1e-14)


def fold_pair(delta_b):
    """x' = tanh(1.5 x + b) with b a float32 just above the fold b_c, where two roots merge: (rnn, roots)."""
    w = 1.5
    x_c = np.sqrt(1 - 1 / w)
    b = np.float32(np.arctanh(x_c) - w * x_c + delta_b)
    if b <= np.arctanh(x_c) - w * x_c:
        b = np.nextafter(b, np.float32(1))
    def f(x):
        return np.tanh(w * x + np.float64(b)) - x
    grid = np.linspace(-1, 1, 400001)
    values = f(grid)
    brackets = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
    roots = [brentq(f, grid[i], grid[i + 1], xtol=1e-16) for i in brackets]
    return tanh_map([[w]], b=[b]), np.array(roots)[:, None]


@pytest.mark.parametrize("delta_b", [1e-5, 1e-7, 0.0])     # 0.0: the float32 b nearest above the fold
def test_near_degenerate_pair_is_separated_or_undecided_never_merged(delta_b):
    rnn, roots = fold_pair(delta_b)
    assert len(roots) == 3 and roots[2, 0] - roots[1, 0] < 6e-3
    full = certify(rnn)
    assert full.certified and full.n_roots == 3
    assert_consistent(full, roots, tol=1e-11)       # brentq's roots are ~1e-13 off where f' is small
    for budget in (1, 3, 8, 20):
        partial = certify(rnn, max_boxes=budget)
        assert partial.n_boxes <= budget
        assert_consistent(partial, roots, tol=1e-11)
        if not partial.certified:
            assert partial.n_undecided > 0


# -- trained networks against an exhaustive float64 search -----------------------------------------------

def numpy_reduced_residual(rnn_type, p, h):
    """R(h) at u = 0, written here in numpy from the cells' update equations (row vectors)."""
    def sig(a):
        return 1 / (1 + np.exp(-a))
    if rnn_type == "tanh":
        return np.tanh(h @ p["w_hh"] + p["b_h"]) - h
    if rnn_type == "gru":
        r = sig(h @ p["w_hr"] + p["b_r"])
        return np.tanh((r * h) @ p["w_hn"] + p["b_n"]) - h
    gate = {g: h @ p[f"w_h{g}"] + p[f"b_{g}"] for g in "ifgo"}
    c = sig(gate["i"]) * np.tanh(gate["g"]) / sig(-gate["f"])
    return sig(gate["o"]) * np.tanh(c) - h


def exhaustive_roots(rnn, n_starts, seed=0):
    """Distinct roots of R in [−1, 1]^n from scipy's fsolve started uniformly (float64, dedup at 1e-7)."""
    p = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    roots = []
    for h0 in np.random.default_rng(seed).uniform(-1, 1, size=(n_starts, rnn.n_hidden)):
        h, _, ok, _ = fsolve(lambda y: numpy_reduced_residual(rnn.rnn_type, p, y), h0, full_output=True, xtol=1e-13)
        if ok == 1 and np.max(np.abs(numpy_reduced_residual(rnn.rnn_type, p, h))) < 1e-12 \
                and all(np.max(np.abs(h - r)) > 1e-7 for r in roots):
            roots.append(h)
    return np.array(roots)


TRAINED = {"tanh2": ("tanh", 2, 3, 0), "tanh3": ("tanh", 3, 4, 1), "gru2": ("gru", 2, 4, 0),
           "lstm2": ("lstm", 2, 4, 2)}


@pytest.fixture(scope="module")
def trained():
    """Networks trained with the project's defaults (seeds chosen once, see TRAINED), and their test states."""
    nets = {}
    for name, (rnn_type, n_bits, n_hidden, seed) in TRAINED.items():
        rnn, history, hiddens = trained_net(rnn_type, n_bits, n_hidden, seed)
        assert history.converged
        nets[name] = rnn, hiddens
    return nets


@pytest.mark.parametrize("name, n_starts", [("tanh2", 600), ("tanh3", 1500), ("gru2", 1000), ("lstm2", 1000)])
def test_trained_nets_every_root_proved_and_equal_to_an_exhaustive_search(trained, name, n_starts):
    rnn, _ = trained[name]
    cert = certify(rnn)
    assert cert.certified and cert.n_undecided == 0
    roots = exhaustive_roots(rnn, n_starts)
    assert len(roots) == cert.n_roots
    assert_consistent(cert, roots, tol=1e-10)
    if rnn.rnn_type == "tanh":
        assert cert.n_roots == 3 ** rnn.n_inputs     # the ideal 3^N of a trained N-bit net


def test_budget_exhausted_says_where(trained):
    rnn, _ = trained["tanh3"]
    cert = certify(rnn, max_boxes=40)
    assert not cert.certified and cert.n_boxes == 40 and cert.n_undecided > 0
    assert cert.max_boxes == 40
    assert_consistent(cert, exhaustive_roots(rnn, 1500), tol=1e-10)


def test_cross_check_with_the_finder_on_a_trained_net(trained):
    rnn, hiddens = trained["tanh2"]
    unique, _ = FixedPointFinder(rnn, verbose=False).find_fixed_points(hiddens, np.zeros((1, 2)), n_inits=256)
    check = cross_check(certify(rnn), unique.xstar)
    assert check.agree and np.all(check.root_of_point >= 0) and len(check.duplicate_points) == 0
    assert len(np.unique(check.root_of_point)) == unique.n == 9


def test_cross_check_reports_missed_roots_spurious_points_and_duplicates():
    x_star = nonzero_root(1.5)
    cert = certify(tanh_map([[1.5]]))          # roots −x*, 0, x* in that order
    points = np.array([[x_star + 3e-5], [0.5], [1e-9], [x_star - 1e-6]])
    check = cross_check(cert, points)
    np.testing.assert_array_equal(check.root_of_point, [2, -1, 1, 2])
    np.testing.assert_array_equal(check.missed_roots, [0])
    np.testing.assert_array_equal(check.unmatched_points, [1])
    np.testing.assert_array_equal(check.duplicate_points, [3])
    np.testing.assert_allclose(check.distance, [3e-5, x_star - 0.5, 1e-9, 1e-6], rtol=1e-6)
    assert not check.agree
    partial = certify(tanh_map([[1.5]]), max_boxes=1)
    judged = cross_check(partial, points)
    assert len(judged.unmatched_points) == 0 and len(judged.undecided_points) == 4
    with pytest.raises(ValueError, match=r"points must have shape \[p, 1\]"):
        cross_check(cert, np.zeros((3, 2)))


def test_same_inputs_same_certificate_bit_for_bit(trained):
    rnn, _ = trained["gru2"]
    a, b = certify(rnn, u=[0.1, -0.2]), certify(rnn, u=[0.1, -0.2])
    for name in Certificate._fields:
        if name != "wall_s":
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


# -- the certificate file --------------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path, trained):
    rnn, _ = trained["tanh2"]
    path = tmp_path / "c.h5"
    for cert in (certify(rnn, u=[0.5, 0.0]), certify(rnn, max_boxes=3)):
        with atomic_h5(path, "fixedpoints/test") as f:
            save_certificate(f.create_group("certificate"), cert)
        with read_h5(path, "fixedpoints/test") as f:
            loaded = load_certificate(f["certificate"])
            assert f["certificate"].attrs["n_undecided"] == cert.n_undecided
        for name in Certificate._fields:
            np.testing.assert_array_equal(getattr(loaded, name), getattr(cert, name), err_msg=name)


def test_a_damaged_certificate_names_the_file_and_dataset(tmp_path):
    cert = certify(tanh_map([[1.5]]))
    path = tmp_path / "c.h5"
    with atomic_h5(path, "fixedpoints/test") as f:
        save_certificate(f.create_group("certificate"), cert)
    with edited(path) as f:
        del f["certificate/root_hi"]
    with pytest.raises(FileFormatError, match=r"c\.h5: '?missing dataset /certificate/root_hi"):
        with read_h5(path, "fixedpoints/test") as f:
            load_certificate(f["certificate"])
    with edited(path) as f:
        f["certificate"].create_dataset("root_hi", data=np.zeros((2, 1)))
    with pytest.raises(FileFormatError, match=r"root_hi has shape \[2, 1\], expected \[3, 1\]"):
        with read_h5(path, "fixedpoints/test") as f:
            load_certificate(f["certificate"])


# -- the interval arithmetic against exact and higher-precision values -----------------------------------

def longdouble_phi(rnn_type, p, h, u):
    """Φ(h) (R = Φ − h) in extended precision (complex inputs allowed, for complex-step derivatives)."""
    def sig(a):
        return 1 / (1 + np.exp(-a))
    def pre(g, x):
        return u @ p[f"w_i{g}"] + x @ p[f"w_h{g}"] + p[f"b_{g}"]
    if rnn_type == "tanh":
        return np.tanh(u @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])
    if rnn_type == "gru":
        r = sig(pre("r", h))
        return np.tanh(u @ p["w_in"] + (r * h) @ p["w_hn"] + p["b_n"])
    c = sig(pre("i", h)) * np.tanh(pre("g", h)) / sig(-pre("f", h))
    return sig(pre("o", h)) * np.tanh(c)


def complex_step_jacobian(rnn_type, p, h, u, step=1e-40):
    """∂R/∂h [n, n] by the complex step Im R(h + i·step·e_k)/step in extended precision (no cancellation)."""
    n = len(h)
    pc = {k: v.astype(np.clongdouble) for k, v in p.items()}
    columns = []
    for k in range(n):
        hk = h.astype(np.clongdouble)
        hk[k] += 1j * np.longdouble(step)
        columns.append(np.imag(longdouble_phi(rnn_type, pc, hk, u.astype(np.clongdouble)) - hk) / np.longdouble(step))
    return np.stack(columns, axis=1)


@st.composite
def boxes(draw):
    rnn_type = draw(st.sampled_from(["tanh", "gru", "lstm"]))
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2 ** 16))
    scale = draw(st.sampled_from([0.5, 2.0, 6.0]))
    rng = np.random.default_rng(seed)
    centre = rng.uniform(-1, 1, n)
    half_width = 10.0 ** draw(st.floats(-14, 0)) * rng.uniform(0, 1, n) * draw(st.sampled_from([0.0, 1.0]))
    return rnn_type, n, seed, scale, np.clip(centre - half_width, -1, 1), np.clip(centre + half_width, -1, 1)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs x87 extended precision for the reference")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes())
def test_enclosures_contain_the_values_and_jacobians_at_points_of_the_box(case):
    rnn_type, n, seed, scale, lo, hi = case
    rnn = make_rnn(rnn_type, n, seed=seed, scale=scale)
    u = np.random.default_rng(seed + 1).normal(size=2)
    p = {k: np.asarray(v, np.longdouble) for k, v in rnn.params.items()}
    cell = prepare(rnn_type, rnn.params, u)
    phi, jac = enclose(cell, iv.Interval(lo[None], hi[None]), jacobian=True)
    residual = iv.sub(phi, iv.Interval(lo[None], hi[None]))
    corners = [lo, hi, np.where(np.arange(n) % 2 == 0, lo, hi)]
    points = corners + list(np.random.default_rng(seed + 2).uniform(lo, hi, size=(5, n)))
    for h in points:
        value = longdouble_phi(rnn_type, p, h.astype(np.longdouble), u.astype(np.longdouble)) - h
        assert np.all(residual.lo[0] <= value) and np.all(value <= residual.hi[0]), (h, value, residual)
        jacobian = complex_step_jacobian(rnn_type, p, h.astype(np.longdouble), u.astype(np.longdouble))
        assert np.all(jac.lo[0] <= jacobian) and np.all(jacobian <= jac.hi[0]), (h, jacobian, jac)


@settings(max_examples=100, deadline=None)
@given(rnn_type=st.sampled_from(["tanh", "gru", "lstm"]), n=st.integers(1, 4), seed=st.integers(0, 2 ** 16),
       scale=st.sampled_from([0.5, 2.0, 6.0]), below=st.floats(0, 1), above=st.floats(0, 1),
       exponent=st.floats(-12, 0))
def test_a_box_holding_a_root_is_never_excluded(rnn_type, n, seed, scale, below, above, exponent):
    # with zero biases and u = 0, h = 0 is an exact root of every cell (tanh 0 = 0, g = 0 → c = 0);
    # the box holds it inside or on its boundary (below or above may be 0)
    rnn = make_rnn(rnn_type, n, seed=seed, scale=scale, zero_bias=True)
    rng = np.random.default_rng(seed)
    width = 10.0 ** exponent
    box = iv.Interval(-(below * width * rng.uniform(0, 1, n))[None], (above * width * rng.uniform(0, 1, n))[None])
    verdict = judge(prepare(rnn_type, rnn.params, np.zeros(2)), box)
    assert not verdict.excluded[0]
    assert np.all(verdict.shrunk.lo <= 0) and np.all(verdict.shrunk.hi >= 0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 16), q=st.integers(1, 12), with_radius=st.booleans())
def test_midpoint_radius_products_enclose_the_exact_rational_product(seed, q, with_radius):
    rng = np.random.default_rng(seed)
    def draw(*shape):   # mantissas over a wide range of exponents, some cancelling sums
        return rng.normal(size=shape) * 2.0 ** rng.integers(-60, 60, size=shape)
    a_mid, x_mid = draw(3, q), draw(q, 2)
    a_rad = np.abs(draw(3, q)) if with_radius else None
    c, r = iv.matmul_midrad(a_mid, a_rad, x_mid, None)
    for i in range(3):
        for j in range(2):
            exact_mid = sum(Fraction(a_mid[i, k]) * Fraction(x_mid[k, j]) for k in range(q))
            spread = sum(Fraction(a_rad[i, k]) * abs(Fraction(x_mid[k, j])) for k in range(q)) if with_radius else 0
            assert abs(Fraction(c[i, j]) - exact_mid) + spread <= Fraction(r[i, j])


def ulp_error(computed, reference: decimal.Decimal) -> float:
    ulp = decimal.Decimal(float(np.spacing(float(computed))))
    return float(abs(decimal.Decimal(float(computed)) - reference) / ulp)


def test_numpy_tanh_and_exp_meet_the_assumed_accuracy():
    # the stated assumption (≤ 4 ulp), sampled against 60-digit decimal arithmetic on this machine
    decimal.getcontext().prec = 60
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-20, 20, 1500), rng.choice([-1, 1], 500) * 10.0 ** rng.uniform(-12, 0, 500)])
    worst_tanh = worst_exp = 0.0
    for x in xs:
        d = decimal.Decimal(float(x))
        e2 = (2 * d).exp()
        worst_tanh = max(worst_tanh, ulp_error(np.tanh(x), (e2 - 1) / (e2 + 1)))
        worst_exp = max(worst_exp, ulp_error(np.exp(np.array([x]))[0], d.exp()))
    assert worst_tanh <= iv.ASSUMED_ULPS and worst_exp <= iv.ASSUMED_ULPS


def test_outward_steps_are_at_least_one_float():
    x = np.concatenate([[0.0, 5e-324, -5e-324, 1e-310, 2.0 ** -1022, 1.0, -1.0, 1e300],
                        np.random.default_rng(0).normal(size=1000) * 10.0 ** np.random.default_rng(1).integers(
                            -300, 300, 1000)])
    assert np.all(iv.up(x) >= np.nextafter(x, np.inf)) and np.all(iv.down(x) <= np.nextafter(x, -np.inf))


# -- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rnn_type", ["tanh", "gru", "lstm"])
def test_bad_input_is_rejected_with_one_clear_line(rnn_type):
    rnn = make_rnn(rnn_type, 2)
    with pytest.raises(ValueError, match="rnn must be a fixedpoints.RNN .* got function"):
        certify(lambda inputs, hidden: hidden)
    with pytest.raises(ValueError, match=r"u must have shape \[2\] \(or \[1, 2\]\), got \[3\]"):
        certify(rnn, u=np.zeros(3))
    with pytest.raises(ValueError, match="u contains NaN or inf"):
        certify(rnn, u=[np.nan, 0.0])
    for budget in (0, -5, 2.5, True, None, "100"):
        with pytest.raises(ValueError, match="max_boxes must be an integer >= 1"):
            certify(rnn, max_boxes=budget)
    with pytest.raises(ValueError, match=r"box must be a pair \(lo \[2\], hi \[2\]\)"):
        certify(rnn, box=([0.0, 0.0], [1.0]))
    with pytest.raises(ValueError, match="lo <= hi"):
        certify(rnn, box=([0.5, 0.0], [0.0, 1.0]))
    name = sorted(parameter_shapes(rnn_type, 2, 2, 2))[0]
    broken = RNN(rnn_type, rnn.params)          # RNN() refuses such weights; a changed params dict still can
    broken.params[name] = np.full(rnn.params[name].shape, np.inf, np.float32)
    with pytest.raises(ValueError, match=f"parameter '{name}' contains NaN or inf"):
        certify(broken)
