"""FixedPointFinder against systems whose fixed points are known on paper, and on trained networks."""

import functools
import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from fixedpoints import FixedPointFinder, FlipFlopData, RNN, train
from fixedpoints.optimization import adapt_learning_rate, slide_sorted_window, sorted_percentile
from fixedpoints.topology import index_census

from exhaustive import exhaustive_search, full_jacobian

QUIET = dict(verbose=False)


# -- closed-form systems --------------------------------------------------------------------------

W_BISTABLE = 2.0


def bistable(inputs, hidden):
    """N decoupled units x' = tanh(w x + u), w = 2 (callable with the seed's contract)."""
    h_next = jnp.tanh(W_BISTABLE * hidden + inputs[:, 0, :1])
    return h_next[:, None, :], h_next


def test_decoupled_bistable_units_have_3_to_the_n_points():
    n = 3
    a = brentq(lambda s: s - np.tanh(W_BISTABLE * s), 0.1, 2.0)      # the positive root of s = tanh(2s)
    rng = np.random.default_rng(0)
    traj = rng.uniform(-1.1, 1.1, size=(4, 100, n))
    finder = FixedPointFinder(bistable, **QUIET)
    unique, all_fps = finder.find_fixed_points(traj, np.zeros((1, 1)), n_inits=256, noise_scale=0.05)
    expected = np.array(list(itertools.product((-a, 0.0, a), repeat=n)))
    assert unique.n == 27
    order = np.lexsort(np.round(unique.xstar, 3).T[::-1])
    np.testing.assert_allclose(unique.xstar[order], expected[np.lexsort(expected.T[::-1])], atol=1e-5)
    # index = number of units at 0 (slope w > 1 there); eigenvalues w(1 - x²), sorted by |λ| descending
    np.testing.assert_array_equal(unique.n_unstable, np.sum(np.abs(unique.xstar) < 0.5, axis=1))
    np.testing.assert_array_equal(index_census(unique.n_unstable), [8, 12, 6, 1])
    slopes = np.sort(W_BISTABLE * (1 - unique.xstar ** 2), axis=1)[:, ::-1]
    np.testing.assert_allclose(unique.eigval_J_xstar.real, slopes, atol=1e-4)
    np.testing.assert_allclose(unique.eigval_J_xstar.imag, 0, atol=1e-6)
    np.testing.assert_allclose(unique.dFdu[:, :, 0], 1 - unique.xstar ** 2, atol=1e-5)
    assert np.all(unique.qstar < 1e-10) and np.all(unique.newton_converged)
    assert unique.is_stable.sum() == 8
    assert all_fps.n >= 256 and all_fps.x_init.shape == all_fps.xstar.shape


def test_many_groups_polished_lowest_q_first_give_the_same_points(monkeypatch):
    # starts stopped early (tol_q 1e-2) lie farther than tol_unique apart: hundreds of groups. Polishing
    # the lowest-q groups first and the rest only where no root explains them must give the 3^n roots
    # of the closed form, as polishing every group does, while polishing fewer candidates.
    import fixedpoints.finder as finder_module

    a = brentq(lambda s: s - np.tanh(W_BISTABLE * s), 0.1, 2.0)
    expected = np.array(list(itertools.product((-a, 0.0, a), repeat=3)))
    traj = np.random.default_rng(4).uniform(-1.1, 1.1, size=(4, 100, 3))
    polished = []
    original_polish = finder_module.FixedPointFinder.polish
    monkeypatch.setattr(finder_module.FixedPointFinder, "polish",
                        lambda self, cands, problem: polished.append(cands.n) or original_polish(self, cands, problem))
    results = {}
    for first in (10 ** 9, 8):                     # every group polished; then the lowest-q 8 first
        monkeypatch.setattr(finder_module, "POLISH_FIRST", first)
        polished.clear()
        finder = FixedPointFinder(bistable, tol_q=1e-2, do_completeness_starts=False, **QUIET)
        unique, _ = finder.find_fixed_points(traj, np.zeros((1, 1)), n_inits=256, noise_scale=0.05)
        order = np.lexsort(np.round(unique.xstar, 3).T[::-1])
        results[first] = (unique.xstar[order], unique.n_unstable[order], sum(polished))
    assert results[8][2] < results[10 ** 9][2]
    for xstar, n_unstable, _ in results.values():
        np.testing.assert_allclose(xstar, expected[np.lexsort(expected.T[::-1])], atol=1e-8)
        np.testing.assert_array_equal(n_unstable, np.sum(np.abs(xstar) < 0.5, axis=1))


def test_one_input_per_start():
    # one bistable unit, x' = tanh(2x + u), at u = 0 and u = 0.2: the roots from sign changes on a grid
    grid = np.linspace(-1.5, 1.5, 3000)
    roots = {}
    for u in (0.0, 0.2):
        def g(s, u=u):
            return s - np.tanh(W_BISTABLE * s + u)

        change = np.nonzero(np.diff(np.sign(g(grid))))[0]
        roots[u] = [brentq(g, grid[i], grid[i + 1]) for i in change]
    assert len(roots[0.0]) == len(roots[0.2]) == 3
    inputs = np.repeat([[0.0], [0.2]], 32, axis=0)
    traj = np.linspace(-1.2, 1.2, 64).reshape(1, 64, 1)
    unique, _ = FixedPointFinder(bistable, **QUIET).find_fixed_points(traj, inputs, n_inits=64, noise_scale=0.05)
    for u, expected in roots.items():
        found = np.sort(unique.xstar[np.isclose(unique.inputs[:, 0], u), 0])
        np.testing.assert_allclose(found, expected, atol=1e-5)


def linear_system(A, B, b):
    def model(inputs, hidden):
        h_next = hidden @ A.T + inputs[:, 0, :] @ B.T + b
        return h_next[:, None, :], h_next
    return model


def make_linear():
    rng = np.random.default_rng(1)
    V = rng.normal(size=(3, 3))
    lam = np.array([1.5, 0.5, -0.3])
    A = V @ np.diag(lam) @ np.linalg.inv(V)
    B, b, u = rng.normal(size=(3, 2)), rng.normal(size=3), np.array([[0.5, -1.0]])
    xstar = np.linalg.solve(np.eye(3) - A, B @ u[0] + b)
    return A, B, b, u, xstar, lam


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_map_has_its_one_fixed_point_and_eigenvalues(dtype):
    A, B, b, u, xstar, lam = make_linear()
    model = linear_system(A, B, b)   # numpy float64 constants: the finder's precision decides
    traj = xstar + np.random.default_rng(2).normal(size=(2, 50, 3))
    finder = FixedPointFinder(model, dtype=dtype, **QUIET)
    unique, _ = finder.find_fixed_points(traj, u, n_inits=64, noise_scale=0.1)
    assert unique.n == 1
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(unique.xstar[0], xstar, atol=tol)
    np.testing.assert_allclose(unique.eigval_J_xstar[0], lam, atol=tol)   # already sorted by |λ|
    np.testing.assert_allclose(unique.J_xstar[0], A, atol=tol)
    np.testing.assert_allclose(unique.dFdu[0], B, atol=tol)
    assert unique.n_unstable[0] == 1 and not unique.is_stable[0]
    assert unique.qstar[0] < (1e-10 if dtype == "float32" else 1e-24)


def test_no_fixed_point_in_the_region_gives_none():
    # F(x) - x = 0.1 (1 + tanh x) > 0 everywhere: no fixed point, only a slow region as x -> -inf
    def drift(inputs, hidden):
        h_next = hidden + 0.1 * (1 + jnp.tanh(hidden))
        return h_next[:, None, :], h_next

    traj = np.random.default_rng(3).uniform(-1, 1, size=(2, 50, 2))
    finder = FixedPointFinder(drift, **QUIET)
    unique, all_fps = finder.find_fixed_points(traj, np.zeros((1, 1)), n_inits=128, noise_scale=0.1)
    assert unique.n == 0
    assert unique.J_xstar.shape == (0, 2, 2)
    assert all_fps.n >= 128
    # whatever survived the outlier test is flagged slow or marginal, never a fixed point
    if finder.slow_fps.n:
        assert np.all(finder.slow_fps.is_slow | finder.slow_fps.is_marginal)


# -- the optimiser ----------------------------------------------------------------------------------

def scalar_linear(a):
    return linear_system(jnp.array([[a]]), jnp.zeros((1, 1)), jnp.zeros(1))


def optimize_only(**options):
    """Settings that test the optimiser alone: no polish, no completeness starts, no stall stop."""
    settings = dict(do_polish=False, do_completeness_starts=False, stall_window=0, **QUIET)
    settings.update(options)
    return settings


def test_learning_rate_rule():
    nan = np.nan

    def run(hist, since, obj, cooldown=0):
        return [np.asarray(v).tolist() for v in adapt_learning_rate(
            jnp.float32(1.0), jnp.asarray(hist, jnp.float32), jnp.int32(since), jnp.float32(obj), 0.5, cooldown)]
    # worse than each of the last 3 (patience 3): decrease, counter restarts
    assert run([5, 1, 2, 3], 3, 4) == [0.5, [1, 2, 3, 4], 0]
    # not worse than all of them: unchanged
    assert run([5, 1, 4, 3], 3, 3.5)[0] == 1.0
    # fell at each of the last 3 steps: increase
    assert run([9, 4, 3, 2], 3, 1)[0] == 2.0
    # one rise among the last steps: no increase
    assert run([9, 4, 5, 2], 3, 1)[0] == 1.0
    # too soon after the last change (patience, then cooldown), or history not yet filled
    assert run([9, 4, 3, 2], 1, 1)[0] == 1.0
    assert run([9, 4, 3, 2], 3, 1, cooldown=10)[0] == 1.0
    assert run([nan, nan, nan, 1], 3, 5)[0] == 1.0


def test_clipping_percentile_over_a_sliding_window_matches_numpy():
    rng = np.random.default_rng(0)
    window = 8
    history = np.full(window, np.nan, np.float32)
    ordered = jnp.full(window, jnp.inf, jnp.float32)
    for _ in range(40):
        newest = np.float32(rng.choice([rng.random(), 0.5]))        # with ties
        ordered = slide_sorted_window(ordered, jnp.float32(history[0]), jnp.float32(newest))
        history = np.concatenate([history[1:], [newest]])
        expected = np.sort(history[~np.isnan(history)])
        np.testing.assert_array_equal(np.asarray(ordered)[:len(expected)], expected)
        for percentile in (0, 50, 95, 100):
            assert abs(float(sorted_percentile(ordered, jnp.float32(percentile)))
                       - np.nanpercentile(history, percentile)) < 1e-6


def test_learning_rate_adapts_both_ways():
    starts = np.array([[2.0], [-1.5], [1.0]])
    # a tiny step makes the objective fall at every step, and the step grows
    options = optimize_only(lr_init=1e-3, max_iters=400, tol_q=0, do_adaptive_clipping=False)
    small = FixedPointFinder(scalar_linear(0.5), method="joint", **options)
    _, adapted = small.find_fixed_points(initial_states=starts, inputs=np.zeros((1, 1)))
    assert small.lr_final[0] > 1e-3 * 10
    fixed = FixedPointFinder(scalar_linear(0.5), method="joint", lr_factor=1.0, **options)
    _, not_adapted = fixed.find_fixed_points(initial_states=starts, inputs=np.zeros((1, 1)))
    assert fixed.lr_final[0] == np.float32(1e-3)
    # the changed step size is the one the optimiser used: it got much further
    assert np.all(adapted.qstar < 0.5 * not_adapted.qstar)
    # sequential: every start has its own learning rate
    seq = FixedPointFinder(scalar_linear(0.5), method="sequential", **optimize_only(lr_init=1e-3, max_iters=100,
                                                                                      tol_q=0))
    seq.find_fixed_points(initial_states=starts, inputs=np.zeros((1, 1)))
    assert seq.lr_final.shape == (3,) and np.all(seq.lr_final > 1e-3)


def test_stops_at_tol_q_and_records_iterations():
    finder = FixedPointFinder(scalar_linear(0.5), **optimize_only(lr_init=0.1, max_iters=5000, tol_q=1e-6))
    _, all_fps = finder.find_fixed_points(initial_states=np.array([[1.0], [0.01]]), inputs=np.zeros((1, 1)))
    assert all_fps.n_iters[1] < all_fps.n_iters[0] < 5000
    assert np.all(all_fps.qstar < 1e-6)
    # x*, F(x*) and q* are taken at the same point
    np.testing.assert_allclose(all_fps.F_xstar, 0.5 * all_fps.xstar, rtol=1e-6)
    np.testing.assert_allclose(all_fps.qstar, 0.5 * np.sum((0.5 * all_fps.xstar) ** 2, axis=1), rtol=1e-5)


def test_q_outliers_are_rerun():
    starts, u = np.array([[0.01], [0.02], [-0.01], [4.0]]), np.zeros((1, 1))
    options = optimize_only(method="sequential", lr_init=0.01, max_iters=30, tol_q=1e-8)
    _, plain = FixedPointFinder(scalar_linear(0.5), **options).find_fixed_points(initial_states=starts, inputs=u)
    _, rerun = FixedPointFinder(scalar_linear(0.5), do_rerun_q_outliers=True, **options).find_fixed_points(
        initial_states=starts, inputs=u)
    assert plain.n_iters[3] == 30 and rerun.n_iters[3] == 60     # the outlier got a second run
    assert rerun.qstar[3] < plain.qstar[3]
    np.testing.assert_array_equal(rerun.xstar[:3], plain.xstar[:3])


def test_max_n_unique_cond_ids_and_valid_mask():
    traj = np.random.default_rng(4).uniform(-1.1, 1.1, size=(2, 100, 2))
    valid = np.zeros((2, 100), bool)
    valid[1, :10] = True
    finder = FixedPointFinder(bistable, max_n_unique=3, **QUIET)
    unique, all_fps = finder.find_fixed_points(traj, np.zeros((1, 1)), n_inits=64, noise_scale=0.0, valid_bxt=valid,
                                               cond_ids=np.arange(64) % 3)
    assert unique.n <= 3
    np.testing.assert_array_equal(all_fps.cond_id[:64], np.arange(64) % 3)
    # with no noise every start is one of the ten valid states
    assert all(np.min(np.linalg.norm(traj[1, :10] - x, axis=1)) < 1e-12 for x in all_fps.x_init[:64])


def test_progress_goes_to_stderr_every_n_iters(capsys):
    finder = FixedPointFinder(scalar_linear(0.5), verbose=True, n_iters_per_print_update=10,
                              **{k: v for k, v in optimize_only(lr_init=1e-3, max_iters=35, tol_q=0).items()
                                 if k != "verbose"})
    finder.find_fixed_points(initial_states=np.array([[1.0]]), inputs=np.zeros((1, 1)))
    captured = capsys.readouterr()
    assert captured.out == ""
    iters = [int(line.split()[1].rstrip(":")) for line in captured.err.splitlines() if line.strip().startswith("iter")]
    assert iters == [10, 20, 30, 35]


# -- trained networks -------------------------------------------------------------------------------

@functools.cache
def trained_net(rnn_type, n_bits, n_hidden, seed):
    """A network trained on the FlipFlop task with the seed's settings, and its test trajectories (trained
    once per session and shared by the tests that ask for the same one: read-only)."""
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    train_data, valid_data, test_data = (gen.generate_data(k) for k in (512, 128, 128))
    rnn, history = train(RNN.init(rnn_type, n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data,
                         seed=seed, verbose=False)
    _, hiddens = rnn(test_data["inputs"])
    hiddens = np.asarray(hiddens)
    hiddens.flags.writeable = False
    return rnn, history, hiddens


@pytest.fixture(scope="module")
def net2():
    rnn, history, hiddens = trained_net("tanh", 2, 3, 0)
    assert history.converged
    return rnn, hiddens


def numpy_tanh_step(params, h, u):
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    return np.tanh(u @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])


def test_trained_2bit_net_has_4_attractors_and_their_saddles(net2):
    rnn, hiddens = net2
    unique, _ = FixedPointFinder(rnn, **QUIET).find_fixed_points(hiddens, np.zeros((1, 2)), n_inits=256)
    assert unique.is_stable.sum() == 4
    np.testing.assert_array_equal(index_census(unique.n_unstable), [4, 4, 1])
    residual = numpy_tanh_step(rnn.params, unique.xstar.astype(np.float64), np.zeros(2)) - unique.xstar
    assert np.max(np.abs(residual)) < 1e-5


def test_polishing_compiles_once_whatever_the_number_of_rows(net2, monkeypatch):
    """The polishing stages call the same functions with 7 to 1024 rows (the groups of 1024 starts, the
    polished points, the completeness rounds' candidates); rows of a few dimensions go in chunks of one
    size, so each function compiles once per search: Newton once on R and once on the deflated G."""
    from fixedpoints import polish
    rnn, hiddens = net2
    functions = {"newton": polish.newton, "reduced_jacobians": polish.reduced_jacobians,
                 "residual_norms": polish.residual_norms, "full_jacobians": polish.full_jacobians}
    rows, chunked = [], polish.chunked
    monkeypatch.setattr(polish, "chunked", lambda fn, n, *args: rows.append(n) or chunked(fn, n, *args))
    for function in functions.values():
        function.clear_cache()
    FixedPointFinder(rnn, **QUIET).find_fixed_points(hiddens, np.zeros((1, 2)), n_inits=1024)
    assert min(rows) < 256 < max(rows)      # row counts below and above one chunk
    compiled = {name: function._cache_size() for name, function in functions.items()}
    assert compiled == {"newton": 2, "reduced_jacobians": 1, "residual_norms": 1, "full_jacobians": 1}


def test_float64_polishes_a_float32_network_to_double_precision(net2):
    rnn, hiddens = net2
    u32, _ = FixedPointFinder(rnn, **QUIET).find_fixed_points(hiddens, n_inits=128)
    u64, _ = FixedPointFinder(rnn, dtype="float64", **QUIET).find_fixed_points(hiddens, n_inits=128)
    assert u64.xstar.dtype == np.float64 and u64.n == u32.n == 9
    assert np.all(u64.qstar < 1e-26) and np.all(u64.newton_converged)
    # independent check in float64 numpy with the network's float32 weights
    residual = numpy_tanh_step(rnn.params, u64.xstar, np.zeros(2)) - u64.xstar
    assert np.max(np.abs(residual)) < 1e-12
    distance = np.linalg.norm(u32.xstar[:, None] - u64.xstar[None], axis=2).min(axis=1)
    assert np.all(distance < 1e-5)


def test_joint_and_sequential_agree(net2):
    rnn, hiddens = net2
    results = [FixedPointFinder(rnn, method=m, **QUIET).find_fixed_points(hiddens, np.zeros((1, 2)), n_inits=128)[0]
               for m in ("joint", "sequential")]
    joint, seq = results
    assert joint.n == seq.n == 9
    distance = np.linalg.norm(joint.xstar[:, None, :] - seq.xstar[None, :, :], axis=2)
    assert np.all(distance.min(axis=1) < 1e-5)
    np.testing.assert_array_equal(np.sort(joint.n_unstable), np.sort(seq.n_unstable))


def test_sequential_equals_each_start_alone(net2):
    rnn, hiddens = net2
    starts = hiddens[0, [3, 20, 40]] + 0.3
    options = optimize_only(method="sequential", max_iters=150, tol_q=1e-12)
    _, together = FixedPointFinder(rnn, **options).find_fixed_points(initial_states=starts)
    for i in range(3):
        _, alone = FixedPointFinder(rnn, **options).find_fixed_points(initial_states=starts[i:i + 1])
        np.testing.assert_allclose(alone.xstar[0], together.xstar[i], atol=1e-6)
        assert alone.n_iters[0] == together.n_iters[i]


def test_same_seed_same_numbers(net2):
    rnn, hiddens = net2
    a = FixedPointFinder(rnn, random_seed=5, **QUIET).find_fixed_points(hiddens, n_inits=64)
    b = FixedPointFinder(rnn, random_seed=5, **QUIET).find_fixed_points(hiddens, n_inits=64)
    for x, y in zip(a, b):
        for name, value in x.fields().items():
            np.testing.assert_array_equal(value, getattr(y, name), err_msg=name)


def test_complete_on_a_3bit_net_against_an_exhaustive_search():
    rnn, history, hiddens = trained_net("tanh", 3, 4, 42)
    unique, _ = FixedPointFinder(rnn, **QUIET).find_fixed_points(hiddens, np.zeros((1, 3)))   # defaults
    # exhaustive: scipy's hybrid root finder from 2000 starts spread over the trajectories' box
    p = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    lo, hi = hiddens.reshape(-1, 4).min(0) - 0.2, hiddens.reshape(-1, 4).max(0) + 0.2
    roots = []
    for x0 in np.random.default_rng(0).uniform(lo, hi, size=(2000, 4)):
        x, info, ok, _ = fsolve(lambda h: np.tanh(h @ p["w_hh"] + p["b_h"]) - h, x0, full_output=True)
        if ok == 1 and np.linalg.norm(np.tanh(x @ p["w_hh"] + p["b_h"]) - x) < 1e-10:
            roots.append(x)
    roots = np.array(roots)
    distinct = [roots[0]]
    for x in roots:
        if min(np.linalg.norm(x - y) for y in distinct) > 1e-6:
            distinct.append(x)
    distinct = np.array(distinct)
    assert len(distinct) == unique.n == 27
    distance = np.linalg.norm(distinct[:, None, :] - unique.xstar[None, :, :], axis=2)
    assert np.all(distance.min(axis=1) < 1e-5)
    np.testing.assert_array_equal(index_census(unique.n_unstable), [8, 12, 6, 1])


@pytest.mark.parametrize("rnn_type,n_hidden,seed", [("gru", 8, 1), ("gru", 16, 2), ("lstm", 8, 2), ("lstm", 16, 1)])
def test_trained_gated_nets_give_what_an_exhaustive_search_of_the_cell_equation_gives(rnn_type, n_hidden, seed):
    rnn, history, hiddens = trained_net(rnn_type, 3, n_hidden, seed)
    finder = FixedPointFinder(rnn, **QUIET)
    unique, _ = finder.find_fixed_points(hiddens, np.zeros((1, 3)))
    roots, degenerate = exhaustive_search(rnn_type, rnn.params, hiddens, 1000)
    found = np.asarray(finder.equation.reduce(unique.xstar), np.float64)
    assert len(degenerate) == 0 and len(roots) == unique.n
    assert np.all(np.linalg.norm(roots[:, None] - found[None], axis=2).min(axis=1) < 1e-4)
    assert np.all(unique.sigma_min >= 1e-3) and np.all(unique.newton_converged)
    # stability from the full map's Jacobian, computed independently in numpy at the search's roots
    nearest = np.linalg.norm(roots[:, None] - found[None], axis=2).argmin(axis=0)
    p = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    radius = np.array([np.max(np.abs(np.linalg.eigvals(full_jacobian(rnn_type, p, roots[j])))) for j in nearest])
    np.testing.assert_array_equal(unique.is_stable, radius < 1)
    np.testing.assert_allclose(np.abs(unique.eigval_J_xstar[:, 0]), radius, rtol=1e-3)
    # and a long simulation of the network (its own compiled time loop) from each attractor, perturbed,
    # comes back to it
    attractors = unique.xstar[unique.is_stable].astype(np.float32)
    x = attractors + 1e-3 * np.random.default_rng(0).normal(size=attractors.shape).astype(np.float32)
    _, states = rnn(np.zeros((len(x), 3000, 3), np.float32), hidden=x)
    assert np.max(np.abs(np.asarray(states[:, -1]) - attractors)) < 1e-3


def test_isolated_points_do_not_depend_on_the_starts():
    rnn, history, hiddens = trained_net("gru", 3, 8, 1)
    sets = []
    for seed, noise in ((0, 0.4), (1, 1.0)):
        unique, _ = FixedPointFinder(rnn, random_seed=seed, **QUIET).find_fixed_points(
            hiddens, np.zeros((1, 3)), n_inits=512, noise_scale=noise)
        sets.append(unique)
    a, b = sets
    assert a.n == b.n and a.is_stable.sum() == b.is_stable.sum() == 8
    assert np.all(np.linalg.norm(a.xstar[:, None] - b.xstar[None], axis=2).min(axis=1) < 1e-4)


def gru_params(n, b_r=10.0, b_z=9.0, w=2.0):
    """A GRU of ``n`` decoupled units with r ≈ 1 and a saturated update gate: z = σ(b_z), 1 − z ≈ 1.2e-4,
    n(h) = tanh(w·r·h), r = σ(b_r); no input weights."""
    zeros, eye = np.zeros((1, n), np.float32), np.eye(n, dtype=np.float32)
    return {"w_ir": zeros, "w_iz": zeros, "w_in": zeros, "w_hr": 0 * eye, "w_hz": 0 * eye, "w_hn": w * eye,
            "b_r": np.full(n, b_r, np.float32), "b_z": np.full(n, b_z, np.float32), "b_n": np.zeros(n, np.float32),
            "w_out": eye, "b_out": np.zeros(n, np.float32), "h0": np.zeros(n, np.float32)}


def test_gru_with_a_saturated_update_gate_has_its_points_found_counted_and_stable():
    # F(h) − h = (1 − z)(n(h) − h) with 1 − z ≈ 1.2e-4: the full map's J − I has σ_min ≈ 1e-4 < tol_isolated,
    # yet every root of n(h) = h is isolated. Per unit: h = tanh(w r h) → 0 and ±a, a = tanh(w r a)
    def sig(v):
        return 1 / (1 + np.exp(-v))

    r, z = sig(10.0), sig(9.0)
    a = brentq(lambda s: s - np.tanh(2.0 * r * s), 0.1, 1.0)
    rnn = RNN("gru", gru_params(2))
    traj = np.random.default_rng(0).uniform(-1, 1, size=(4, 50, 2))
    unique, _ = FixedPointFinder(rnn, **QUIET).find_fixed_points(traj, n_inits=256, noise_scale=0.05)
    expected = np.array(list(itertools.product((-a, 0.0, a), repeat=2)))
    assert unique.n == 9 and unique.is_stable.sum() == 4
    order = np.lexsort(np.round(unique.xstar, 3).T[::-1])
    np.testing.assert_allclose(unique.xstar[order], expected[np.lexsort(expected.T[::-1])], atol=1e-5)
    # eigenvalues of the full map: z + (1 − z)·w·r·(1 − x²) per unit, in closed form
    slopes = np.sort(z + (1 - z) * 2.0 * r * (1 - unique.xstar ** 2), axis=1)[:, ::-1]
    np.testing.assert_allclose(unique.eigval_J_xstar.real, slopes, atol=2e-6)
    assert np.all(unique.is_stable == np.all(np.abs(unique.xstar) > 0.5, axis=1))


def test_distinct_roots_closer_than_tol_unique_are_both_kept():
    # x' = x − 10 x (x − 0.004)(x − 1): three roots, two of them 0.004 apart (tol_unique = 0.01)
    def model(inputs, hidden):
        h_next = hidden - 10.0 * hidden * (hidden - 0.004) * (hidden - 1.0)
        return h_next[:, None, :], h_next

    traj = np.linspace(-0.5, 1.5, 200).reshape(1, 200, 1)
    unique, _ = FixedPointFinder(model, **QUIET).find_fixed_points(traj, np.zeros((1, 1)), n_inits=256,
                                                                  noise_scale=0.05)
    np.testing.assert_allclose(np.sort(unique.xstar[:, 0]), [0.0, 0.004, 1.0], atol=1e-5)
    np.testing.assert_array_equal(unique.is_stable[np.argsort(unique.xstar[:, 0])], [True, False, False])


def test_deflation_finds_the_partner_of_a_close_pair_that_every_start_misses():
    # x' = x − 10 x (x − 0.004)(x − 1) again, with starts only left of 0: Newton takes them all to 0; Newton on
    # the deflated equation R(x)·(1/(x − 0)² + 1), started next to 0, goes to the root 0.004 beside it
    def model(inputs, hidden):
        h_next = hidden - 10.0 * hidden * (hidden - 0.004) * (hidden - 1.0)
        return h_next[:, None, :], h_next

    starts = np.linspace(-0.3, -0.05, 16)[:, None]
    options = dict(initial_states=starts, inputs=np.zeros((1, 1)))
    plain, _ = FixedPointFinder(model, do_deflation=False, do_completeness_starts=False, **QUIET).find_fixed_points(
        **options)
    deflated, _ = FixedPointFinder(model, do_completeness_starts=False, **QUIET).find_fixed_points(**options)
    np.testing.assert_allclose(plain.xstar[:, 0], [0.0], atol=1e-6)
    assert np.min(np.abs(deflated.xstar[:, 0] - 0.004)) < 1e-6 and np.min(np.abs(deflated.xstar[:, 0])) < 1e-6


def test_past_a_saddle_node_there_is_a_slow_point_and_no_fixed_point():
    # x' = x + 0.1 (x² + 1e-3): no root; q has its minimum ½(1e-4)² at x = 0, the ghost of the saddle-node
    def model(inputs, hidden):
        h_next = hidden + 0.1 * (hidden ** 2 + 1e-3)
        return h_next[:, None, :], h_next

    traj = np.linspace(-0.5, 0.5, 100).reshape(1, 100, 1)
    finder = FixedPointFinder(model, **QUIET)
    unique, _ = finder.find_fixed_points(traj, np.zeros((1, 1)), n_inits=128, noise_scale=0.05)
    slow = finder.result.slow_points
    assert unique.n == 0 and slow.n >= 1
    best = np.argmin(slow.speed)
    assert abs(slow.xstar[best, 0]) < 0.05
    assert 1e-4 <= slow.speed[best] < 2e-4                  # |F(x) − x| = 0.1 (x² + 1e-3)
    assert np.all(slow.is_slow) and not np.any(slow.newton_converged)
    assert slow.eigval_J_xstar.shape == (slow.n, 1)          # eigenvalues of the slow points too


def test_a_start_that_stalls_stops_long_before_max_iters():
    # x' = x + 0.1 + 0.001 tanh(x): q ≈ 0.005 everywhere and falls only by a tiny amount: every start stalls
    def drift(inputs, hidden):
        h_next = hidden + 0.1 + 1e-3 * jnp.tanh(hidden)
        return h_next[:, None, :], h_next

    starts = np.array([[0.0], [1.0]])
    options = dict(do_polish=False, do_completeness_starts=False, max_iters=2000, tol_dq=0.0, **QUIET)
    _, stalled = FixedPointFinder(drift, stall_window=50, **options).find_fixed_points(
        initial_states=starts, inputs=np.zeros((1, 1)))
    _, not_stopped = FixedPointFinder(drift, stall_window=0, **options).find_fixed_points(
        initial_states=starts, inputs=np.zeros((1, 1)))
    np.testing.assert_array_equal(stalled.n_iters, [50, 50])
    np.testing.assert_array_equal(not_stopped.n_iters, [2000, 2000])


def test_a_start_that_converges_geometrically_is_not_stopped_by_the_stall_test():
    # x' = 0.5 x: Adam on q = x²/8 falls steadily; with tol_q = 1e-12 every start reaches it before max_iters
    finder = FixedPointFinder(scalar_linear(0.5), do_polish=False, do_completeness_starts=False, stall_window=20,
                              lr_init=0.1, tol_q=1e-12, max_iters=5000, **QUIET)
    _, all_fps = finder.find_fixed_points(initial_states=np.array([[1.0], [0.1]]), inputs=np.zeros((1, 1)))
    assert np.all(all_fps.qstar < 1e-12) and np.all(all_fps.n_iters < 5000)


def test_lstm_points_are_fixed():
    rnn = RNN.init("lstm", 2, 3, 2, seed=1)
    traj = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 20, rnn.state_size))
    unique, _ = FixedPointFinder(rnn, n_box_inits=32, **QUIET).find_fixed_points(traj, n_inits=64)
    assert unique.n >= 1
    step = np.asarray(rnn.step(jnp.asarray(unique.xstar, jnp.float32), jnp.zeros((unique.n, 2))))
    assert np.max(np.abs(step - unique.xstar)) < 1e-5
    assert np.all(unique.sigma_min >= 1e-3)


# -- bad input ----------------------------------------------------------------------------------

def test_bad_options_and_arguments_are_rejected(net2):
    rnn, hiddens = net2
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        FixedPointFinder(rnn, learning_rate=0.1)
    with pytest.raises(ValueError, match="method must be one of joint, sequential, got 'adam'"):
        FixedPointFinder(rnn, method="adam")
    with pytest.raises(ValueError, match="lr_init must be a number > 0, got -1"):
        FixedPointFinder(rnn, lr_init=-1)
    with pytest.raises(ValueError, match="max_n_unique must be an integer >= 1 or inf, got 0.5"):
        FixedPointFinder(rnn, max_n_unique=0.5)
    with pytest.raises(ValueError, match="verbose must be true or false, got 1"):
        FixedPointFinder(rnn, verbose=1)
    with pytest.raises(ValueError, match="rnn must be a fixedpoints.RNN or a callable"):
        FixedPointFinder(42)
    finder = FixedPointFinder(rnn, **QUIET)
    with pytest.raises(ValueError, match=r"inputs must have shape \[1, m\] or \[8, m\]"):
        finder.find_fixed_points(hiddens, np.zeros((3, 2)), n_inits=8)
    with pytest.raises(ValueError, match="inputs must have 2 columns"):
        finder.find_fixed_points(hiddens, np.zeros((1, 5)), n_inits=8)
    with pytest.raises(ValueError, match="states have size 5, but the network's state size is 3"):
        finder.find_fixed_points(np.zeros((2, 4, 5)), n_inits=8)
    with pytest.raises(ValueError, match="n_inits must be an integer >= 1"):
        finder.find_fixed_points(hiddens, n_inits=0)
    with pytest.raises(ValueError, match="needs state_traj or initial_states"):
        finder.find_fixed_points()
    with pytest.raises(ValueError, match="valid_bxt must have shape"):
        finder.find_fixed_points(hiddens, n_inits=8, valid_bxt=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="inputs .* is needed for a callable model"):
        FixedPointFinder(bistable, **QUIET).find_fixed_points(initial_states=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="the model cannot map a state"):
        FixedPointFinder(lambda u, h: (u, h @ np.ones((7, 7))), **QUIET).find_fixed_points(
            initial_states=np.zeros((2, 3)), inputs=np.zeros((1, 1)))
