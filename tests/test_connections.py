"""Unstable-manifold branches on maps whose connections are known in closed form.

* the decoupled map x_i' = tanh(w x_i) (w > 1): its fixed points are the 3^N points of {−s, 0, s}^N
  (s = tanh(w s) > 0); a point with zeros at the coordinates Z has index |Z|, its unstable directions
  are the axes e_j (j ∈ Z), and the branch along ±e_j moves only coordinate j, to ±s: it ends at the
  point with coordinate j set to ±s (an attractor for index 1, a lower saddle otherwise);
* a map just past a saddle-node: x' = x + k·x·(1 + x)·((x − 1)² + a), y' = y/2. The fixed points
  are (−1, 0) (stable) and (0, 0) (index 1); for x > 0 the speed k·x·(1+x)·((x−1)² + a) never
  vanishes but falls to 2ka at the ghost x = 1, where the right branch stalls;
* a rotation-scaling Jacobian, whose complex unstable pair spans the whole plane.
"""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from fixedpoints.connections import (END_KINDS, ConnectionSettings, branch_directions,
                                     trace_branches)
from fixedpoints.fixed_points import FixedPoints, decompose


def decoupled_step(params, x, u):
    return jnp.tanh(params["w"] * x)


def tanh_root(w):
    """s > 0 with s = tanh(w s), by fixed-point iteration (contracting there for w > 1)."""
    s = 1.0
    for _ in range(500):
        s = np.tanh(w * s)
    return s


def decoupled_fixed_points(w, dim):
    """The 3^dim fixed points of x_i' = tanh(w x_i) with their closed-form Jacobians diag(w (1 − x_i'²))."""
    s = tanh_root(w)
    points = np.array(list(itertools.product((-s, 0.0, s), repeat=dim)))
    eigval, eigvec, stable, n_unstable = decompose(np.stack([np.diag(w * (1 - np.tanh(w * p) ** 2)) for p in points]))
    return FixedPoints(points, eigval_J_xstar=eigval, eigvec_J_xstar=eigvec, is_stable=stable, n_unstable=n_unstable)


def expected_targets(points):
    """(point, target) for every branch of the decoupled map: coordinate j of a zero set to ±s."""
    s = np.abs(points).max()
    lookup = {tuple(np.round(p, 12)): i for i, p in enumerate(points)}
    targets = set()
    for i, p in enumerate(points):
        for j in np.flatnonzero(p == 0):
            for sign in (1, -1):
                q = p.copy()
                q[j] = sign * s
                targets.add((i, lookup[tuple(np.round(q, 12))]))
    return targets


@pytest.mark.parametrize("dim, w", [(2, 1.5), (3, 1.5), (3, 3.0)])
def test_decoupled_branches_end_where_the_closed_form_says(dim, w):
    fps = decoupled_fixed_points(w, dim)
    branches = trace_branches(decoupled_step, {"w": w}, fps, np.zeros(1))
    assert len(branches.saddle) == 2 * fps.n_unstable.sum()
    found = set(zip(branches.saddle.tolist(), branches.end_node.tolist()))
    assert found == expected_targets(fps.xstar)
    np.testing.assert_array_equal(branches.first_node, branches.end_node)
    kinds = np.array(END_KINDS)[branches.end_kind]
    # a branch of an index-1 point ends at an attractor, one of a higher saddle at a saddle (on its stable manifold)
    np.testing.assert_array_equal(kinds == "attractor", fps.n_unstable[branches.saddle] == 1)
    assert set(kinds) <= {"attractor", "saddle"}
    np.testing.assert_allclose(branches.end_state, fps.xstar[branches.end_node], atol=1e-6)
    assert len(branches.slow_position) == 0


def test_each_branch_starts_one_step_from_its_saddle_and_its_path_is_the_orbit():
    fps = decoupled_fixed_points(1.5, 2)
    branches = trace_branches(decoupled_step, {"w": 1.5}, fps, np.zeros(1), step_size=1e-3, max_path_points=9)
    for row in range(len(branches.saddle)):
        x0 = fps.xstar[branches.saddle[row]] + branches.sign[row] * 1e-3 * branches.direction[row]
        orbit = [x0]
        for _ in range(branches.steps[row]):
            orbit.append(np.tanh(1.5 * orbit[-1]))
        orbit = np.array(orbit)
        n = branches.path_length[row]
        assert 3 <= n <= 9 and np.all(np.isnan(branches.path[row, n:]))
        np.testing.assert_array_equal(branches.path[row, n - 1], branches.end_state[row])
        np.testing.assert_allclose(branches.path[row, n - 1], orbit[-1], atol=1e-15)
        # rows before the end are every s-th point of the orbit, for a stride s that is a power of two
        strides = [s for s in 2 ** np.arange(12) if len(orbit[::s]) >= n - 1
                   and np.allclose(branches.path[row, : n - 1], orbit[::s][: n - 1], atol=1e-15, rtol=0)]
        assert strides, row


def ghost_step(params, x, u):
    k, a = params["k"], params["a"]
    return jnp.stack([x[0] + k * x[0] * (1 + x[0]) * ((x[0] - 1) ** 2 + a), 0.5 * x[1]])


def ghost_fixed_points(k):
    """(−1, 0): J = diag(1 − k(4 + a), ½) ≈ diag(1 − 4k, ½), stable; (0, 0): J = diag(1 + k(1 + a), ½), index 1."""
    points = np.array([[-1.0, 0.0], [0.0, 0.0]])
    eigval, eigvec, stable, n_unstable = decompose(np.array([np.diag([1 - 4 * k, 0.5]), np.diag([1 + k, 0.5])]))
    return FixedPoints(points, eigval_J_xstar=eigval, eigvec_J_xstar=eigvec, is_stable=stable, n_unstable=n_unstable)


def test_a_branch_that_stalls_at_a_ghost_ends_on_a_slow_point():
    k, a = 0.25, 1e-9
    fps = ghost_fixed_points(k)
    branches = trace_branches(ghost_step, {"k": k, "a": a}, fps, np.zeros(1))
    assert list(branches.saddle) == [1, 1]
    right = int(np.argmax(branches.sign * branches.direction[:, 0]))
    left = 1 - right
    assert END_KINDS[branches.end_kind[left]] == "attractor" and branches.end_node[left] == 0
    assert END_KINDS[branches.end_kind[right]] == "slow"
    assert branches.end_node[right] == 2 and branches.first_node[right] == -1    # node 2: the first slow point
    # it stopped where the speed k·x(1+x)((x−1)² + a) < tol_speed: |x − 1| < sqrt(tol/(2k)) ≈ 4.5e-4
    x_end = branches.end_state[right]
    assert abs(x_end[0] - 1) < np.sqrt(ConnectionSettings.tol_speed / (2 * k)) and abs(x_end[1]) < 1e-12
    np.testing.assert_array_equal(branches.slow_position, [x_end])
    np.testing.assert_array_equal(branches.slow_candidate, [-1])


def test_a_slow_end_takes_the_name_of_the_candidate_near_it_and_a_short_budget_gives_no_end():
    k, a = 0.25, 1e-9
    fps = ghost_fixed_points(k)
    candidates = np.array([[5.0, 5.0], [1.0 - 1e-3, 0.0]])
    branches = trace_branches(ghost_step, {"k": k, "a": a}, fps, np.zeros(1), slow_xstar=candidates)
    np.testing.assert_array_equal(branches.slow_candidate, [1])
    np.testing.assert_array_equal(branches.slow_position, candidates[1:])
    short = trace_branches(ghost_step, {"k": k, "a": a}, fps, np.zeros(1), max_steps=200)
    kinds = sorted(END_KINDS[kind] for kind in short.end_kind)
    assert kinds == ["attractor", "none"] and len(short.slow_position) == 0
    none = int(np.flatnonzero(short.end_kind == END_KINDS.index("none"))[0])
    assert short.steps[none] == 200 and short.end_node[none] == -1
    assert short.path_length[none] <= ConnectionSettings.max_path_points


def test_a_ghost_that_is_fast_enough_is_passed_and_a_diverging_branch_has_no_end():
    # a = 1e-3: the speed at the ghost, 2ka = 5e-4, stays above tol_speed; past x = 1 the map blows up
    fps = ghost_fixed_points(0.25)
    branches = trace_branches(ghost_step, {"k": 0.25, "a": 1e-3}, fps, np.zeros(1), max_steps=5000)
    right = int(np.argmax(branches.sign * branches.direction[:, 0]))
    assert END_KINDS[branches.end_kind[right]] == "none" and branches.steps[right] < 5000
    assert np.all(np.isfinite(branches.path[right, : branches.path_length[right]]))


def test_a_complex_unstable_pair_gives_four_branches_spanning_its_plane():
    angle, scale = 0.7, 1.3
    J = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    eigval, eigvec, _, n_unstable = decompose(J[None])
    assert n_unstable[0] == 2 and np.all(np.abs(eigval.imag) > 0)
    saddle, eig_index, sign, direction = branch_directions(eigval, eigvec, n_unstable)
    np.testing.assert_array_equal(saddle, [0, 0, 0, 0])
    np.testing.assert_array_equal(eig_index, [0, 0, 1, 1])
    np.testing.assert_array_equal(sign, [1, -1, 1, -1])
    np.testing.assert_allclose(np.linalg.norm(direction, axis=1), 1.0)
    assert abs(np.linalg.det(direction[[0, 2]])) > 0.1                    # Re v and Im v span the plane
    # the plane is invariant: J maps Re v, Im v into their span (J v = λ v)
    v = eigvec[0][:, 0]
    np.testing.assert_allclose(J @ v.real, (eigval[0, 0] * v).real, atol=1e-12)


def test_same_inputs_same_numbers():
    fps = decoupled_fixed_points(2.0, 3)
    first = trace_branches(decoupled_step, {"w": 2.0}, fps, np.zeros(1))
    second = trace_branches(decoupled_step, {"w": 2.0}, fps, np.zeros(1))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_no_saddles_no_branches():
    fps = decoupled_fixed_points(1.5, 2)[np.array([0, 2])]                   # two attractors only
    branches = trace_branches(decoupled_step, {"w": 1.5}, fps, np.zeros(1))
    assert branches.path.shape == (0, ConnectionSettings.max_path_points, 2) and branches.end_state.shape == (0, 2)


@pytest.mark.parametrize("setting, value, expected", [
    ("step_size", 0.0, "step_size must be a number > 0"), ("max_steps", 1.5, "max_steps must be an integer >= 1"),
    ("max_path_points", 2, "max_path_points must be an integer >= 3"), ("tol_speed", np.nan, "tol_speed must be"),
    ("colour", 1, "unknown connection option"),
])
def test_bad_settings_are_named(setting, value, expected):
    with pytest.raises(ValueError, match=expected):
        trace_branches(decoupled_step, {"w": 1.5}, FixedPoints(np.zeros((0, 2))), np.zeros(1), **{setting: value})


def test_fixed_points_without_eigenvectors_are_refused():
    with pytest.raises(ValueError, match="eigval_J_xstar must have shape"):
        trace_branches(decoupled_step, {"w": 1.5}, FixedPoints(np.zeros((1, 2))), np.zeros(1))
