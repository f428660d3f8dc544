"""Figures checked by their content, against a closed-form system whose fixed points are known.

The system x' = tanh(w·x) (elementwise, w = 2) has, per coordinate, the fixed points 0 (unstable,
λ = w) and ±a with a = tanh(w·a) (stable, λ = w(1 − a²) < 1). In d dimensions it has 3^d fixed
points; the one with k zero coordinates has index k and its unstable eigenvectors are the unit
axes of those coordinates: 2^d stable points, C(d,k)·2^(d−k) of index k, d·3^(d−1) unstable
directions in all.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text

from fixedpoints import plotting

W = 2.0


def stable_coordinate(w: float = W) -> float:
    a = 1.0
    for _ in range(200):
        a = np.tanh(w * a)
    return float(a)


def closed_form_fixed_points(d: int):
    """A FixedPoints-like stand-in for x' = tanh(W x) in d dimensions, eigenvalues sorted by |λ| desc."""
    a = stable_coordinate()
    xstar = np.array(list(itertools.product([-a, 0.0, a], repeat=d)))
    lam = W * (1.0 - np.tanh(W * xstar) ** 2)              # diagonal Jacobian entries [n, d]
    order = np.argsort(-np.abs(lam), axis=1, kind="stable")
    eigval = np.take_along_axis(lam, order, axis=1).astype(np.complex128)
    eigvec = np.stack([np.eye(d)[:, o] for o in order]).astype(np.complex128)
    return types.SimpleNamespace(xstar=xstar, eigval_J_xstar=eigval, eigvec_J_xstar=eigvec,
                                 is_stable=np.all(np.abs(eigval) < 1, axis=1),
                                 n_unstable=np.sum(np.abs(eigval) > 1, axis=1))


def closed_form_trajectories(d: int, trials: int = 12, n_time: int = 15, seed: int = 0) -> np.ndarray:
    """Noisy trajectories of the same map [trials, time, d]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.2, 1.2, (trials, d))
    states = []
    for _ in range(n_time):
        states.append(x)
        x = np.tanh(W * x + rng.normal(0.0, 0.3, x.shape))
    return np.stack(states, axis=1)


def pca_projection(traj: np.ndarray, points: np.ndarray, k: int) -> np.ndarray:
    """Projection on the first k principal axes by numpy's SVD (sign of each axis arbitrary)."""
    states = traj.reshape(-1, traj.shape[-1])
    mean = states.mean(axis=0)
    _, _, vt = np.linalg.svd(states - mean, full_matrices=False)
    return (points - mean) @ vt[:k].T


def artists(fig, gid, ax=0):
    ax = fig.axes[ax]
    return [a for a in ax.get_children() if a.get_gid() == gid]


def data_of(line, dims):
    return np.column_stack(line.get_data_3d() if dims == 3 else line.get_data())


def pieces(lines, dims):
    """The paths [n_i, dims] of one or more lines drawn as pieces with NaN rows between them, in order."""
    out = []
    for line in lines:
        data = data_of(line, dims)
        gaps = np.flatnonzero(np.isnan(data).any(axis=1))
        finite = (chunk[~np.isnan(chunk).any(axis=1)] for chunk in np.split(data, gaps))
        out += [piece for piece in finite if len(piece)]
    return out


def match_signs(got, expected):
    """Flip the sign of each column of ``expected`` to agree with ``got`` (PCA axes have no sign)."""
    signs = np.sign(np.sum(got * expected, axis=0))
    signs[signs == 0] = 1
    return expected * signs


@pytest.mark.parametrize("dims", [2, 3])
def test_fixed_point_figure_content(dims):
    d = 3
    fps = closed_form_fixed_points(d)
    traj = closed_form_trajectories(d)
    trials = [0, 3, 5, 7, 11]
    plot = plotting.plot_fixed_points_2d if dims == 2 else plotting.plot_fixed_points_3d
    fig = plot(fps, traj, plot_batch_idx=trials, plot_start_time=4, title="3-bit tanh seed 4: 8 stable / 27")
    assert fig.axes[0].get_title() == "3-bit tanh seed 4: 8 stable / 27"

    # one line per selected trial, from the start time on
    lines = artists(fig, "trajectory")
    assert len(lines) == len(trials)
    assert all(len(data_of(line, dims)) == traj.shape[1] - 4 for line in lines)

    # one marker per fixed point: 2^d filled stable ones, C(d,k)·2^(d−k) open ones of index k
    stable = artists(fig, "fixed_points:stable")
    assert len(stable) == 1 and stable[0].get_fillstyle() == "full"
    assert len(data_of(stable[0], dims)) == 2 ** d
    total = len(data_of(stable[0], dims))
    for k in range(1, d + 1):
        (saddles,) = artists(fig, f"fixed_points:index{k}")
        assert saddles.get_fillstyle() == "none"
        assert len(data_of(saddles, dims)) == math.comb(d, k) * 2 ** (d - k)
        total += len(data_of(saddles, dims))
    assert total == 3 ** d

    # the markers sit at the PCA projection of x* (independent SVD, axis signs free)
    got = data_of(stable[0], dims)
    expected = pca_projection(traj, fps.xstar[fps.is_stable], dims)
    np.testing.assert_allclose(got, match_signs(got, expected), atol=1e-8)

    # one segment per unstable direction, centred on its saddle, along the projected unit axis
    # (one line per saddle index in its colour: k segments for each of the C(d,k)·2^(d−k) saddles)
    lines = artists(fig, "unstable_mode")
    assert {line.get_color(): len(pieces([line], dims)) for line in lines} == {
        plotting.index_color(k): k * math.comb(d, k) * 2 ** (d - k) for k in range(1, d + 1)}
    segments = pieces(lines, dims)
    assert len(segments) == d * 3 ** (d - 1) == int(np.sum(fps.n_unstable))
    saddle_xy = pca_projection(traj, fps.xstar[~fps.is_stable], dims)
    axes_xy = pca_projection(traj, np.eye(d), dims) - pca_projection(traj, np.zeros((1, d)), dims)
    signs = np.sign(np.sum(got * expected, axis=0))
    for ends in segments:
        assert len(ends) == 2
        mid, half = ends.mean(axis=0), (ends[1] - ends[0]) / 2
        distance = np.min(np.linalg.norm(saddle_xy * signs - mid, axis=1))
        assert distance < 1e-8
        cosines = np.abs((axes_xy * signs) @ half) / (np.linalg.norm(axes_xy, axis=1) * np.linalg.norm(half))
        assert np.max(cosines) == pytest.approx(1.0, abs=1e-8)


def test_axis_labels_show_explained_variance():
    traj = closed_form_trajectories(3)
    fig = plotting.plot_fixed_points_2d(closed_form_fixed_points(3), traj)
    states = traj.reshape(-1, 3)
    s = np.linalg.svd(states - states.mean(axis=0), compute_uv=False) ** 2
    ratio = s / s.sum()
    assert fig.axes[0].get_xlabel() == f"PC 1 ({100 * ratio[0]:.1f} % var.)"
    assert fig.axes[0].get_ylabel() == f"PC 2 ({100 * ratio[1]:.1f} % var.)"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][1:] == [
        "stable (8)", "saddle, index 1 (12)", "saddle, index 2 (6)", "saddle, index 3 (1)", "unstable directions"]
    assert fig.axes[0].get_title() == "8 stable / 27"
    # the legend's unstable-direction entry shows the colours of the segments, one per saddle index
    segment_colors = {line.get_color() for line in artists(fig, "unstable_mode")}
    entry_colors = {line.get_color() for line in legend.findobj(Line2D) if line.get_label() == "unstable directions"}
    assert entry_colors == segment_colors == {plotting.index_color(k) for k in (1, 2, 3)}


def test_complex_pair_gives_two_segments_spanning_its_plane():
    # a single fixed point at 0 with J = 1.5·rotation(0.7): unstable complex pair
    theta = 0.7
    jac = 1.5 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    lam, vec = np.linalg.eig(jac)
    fps = types.SimpleNamespace(xstar=np.zeros((1, 2)), eigval_J_xstar=lam[None], eigvec_J_xstar=vec[None],
                                is_stable=np.array([False]), n_unstable=np.array([2]))
    traj = closed_form_trajectories(2)
    fig = plotting.plot_fixed_points_2d(fps, traj)
    segments = pieces(artists(fig, "unstable_mode"), 2)
    assert len(segments) == 2
    directions = np.array([np.diff(s, axis=0)[0] for s in segments])
    assert abs(np.linalg.det(directions)) > 1e-3 * np.prod(np.linalg.norm(directions, axis=1))


def test_no_fixed_points_still_draws_trajectories_and_says_so():
    traj = closed_form_trajectories(3)
    empty = types.SimpleNamespace(xstar=np.zeros((0, 3)))
    for plot in (plotting.plot_fixed_points_2d, plotting.plot_fixed_points_3d):
        fig = plot(empty, traj, note="skipped: training diverged")
        (text,) = artists(fig, "message")
        assert "no fixed points" in text.get_text() and "diverged" in text.get_text()
        assert len(artists(fig, "trajectory")) == min(6, traj.shape[0])
        assert not [a for a in fig.axes[0].get_children() if str(a.get_gid()).startswith("fixed_points")]
        assert fig.axes[0].get_title() == "0 stable / 0"


def test_two_state_network_2d_works_and_3d_says_why_skipped():
    d = 2
    fps, traj = closed_form_fixed_points(d), closed_form_trajectories(d)
    fig2 = plotting.plot_fixed_points_2d(fps, traj)
    assert len(data_of(artists(fig2, "fixed_points:stable")[0], 2)) == 4
    assert len(pieces(artists(fig2, "unstable_mode"), 2)) == d * 3 ** (d - 1)
    fig3 = plotting.plot_fixed_points_3d(fps, traj, title="2-bit tanh seed 0: 4 stable / 9")
    (text,) = artists(fig3, "message")
    assert "3-D PCA skipped" in text.get_text() and "only 2 dimensions" in text.get_text()
    assert fig3.axes[0].get_title() == "2-bit tanh seed 0: 4 stable / 9"


def test_partly_non_finite_trajectories_leave_gaps():
    traj = closed_form_trajectories(3)
    traj[2, 5:] = np.nan                    # e.g. a trial whose states blew up
    fig = plotting.plot_fixed_points_2d(closed_form_fixed_points(3), traj, plot_batch_idx=[1, 2])
    lines = artists(fig, "trajectory")
    assert len(lines) == 2 and np.isnan(data_of(lines[1], 2)[5:]).all() and np.isfinite(data_of(lines[0], 2)).all()
    assert np.isfinite(fig.axes[0].get_xlim()).all()


def test_non_finite_trajectories_give_a_message():
    traj = np.full((3, 5, 3), np.nan)
    fig = plotting.plot_fixed_points_2d(types.SimpleNamespace(xstar=np.zeros((0, 3))), traj)
    (text,) = artists(fig, "message")
    assert "no finite hidden states" in text.get_text()


@pytest.mark.parametrize("kwargs, words", [
    ({"state_traj": np.zeros((4, 5, 2))}, "state size 2"),
    ({"state_traj": np.zeros((4, 5))}, "[trials, time, d]"),
    ({"plot_batch_idx": [0, 99]}, "plot_batch_idx [99]"),
    ({"plot_start_time": 15}, "plot_start_time"),
])
def test_bad_arguments_raise_one_line_errors(kwargs, words):
    args = {"state_traj": closed_form_trajectories(3), **kwargs}
    with pytest.raises(ValueError) as info:
        plotting.plot_fixed_points_2d(closed_form_fixed_points(3), **args)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_missing_jacobian_fields_named():
    fps = closed_form_fixed_points(2)
    del fps.eigvec_J_xstar
    with pytest.raises(ValueError, match="eigvec_J_xstar"):
        plotting.plot_fixed_points_2d(fps, closed_form_trajectories(2))



def test_principal_axes_match_scikit_learn():
    """numpy's SVD with the svd_flip sign convention gives scikit-learn's PCA: same axes, signs and ratios."""
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(3)
    states = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)) + rng.normal(size=5)
    mean, axes, ratio = plotting.principal_axes(states)
    pca = decomposition.PCA(svd_solver="full").fit(states)
    np.testing.assert_allclose(mean, pca.mean_, atol=1e-12)
    np.testing.assert_allclose(axes, pca.components_, atol=1e-9)
    np.testing.assert_allclose(ratio, pca.explained_variance_ratio_, atol=1e-12)


def test_3d_view_is_to_scale_and_drops_a_flat_third_axis():
    traj = closed_form_trajectories(3)
    traj[..., 2] *= 0.3                        # PC 3 still above 1 % of the variance
    fig = plotting.plot_fixed_points_3d(closed_form_fixed_points(3), traj)
    ax = fig.axes[0]
    ranges = np.ptp([ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d()], axis=1)
    aspect = np.asarray(ax.get_box_aspect())
    np.testing.assert_allclose(aspect / aspect.max(), ranges / ranges.max(), rtol=1e-6)   # one unit, one length

    flat = closed_form_trajectories(3)
    flat[..., 2] = 1e-3 * flat[..., 0] + 1e-4 * np.sin(np.arange(flat.shape[1]))   # PC 3: ~1e-6 of the variance
    fig = plotting.plot_fixed_points_3d(closed_form_fixed_points(3), flat)
    assert not hasattr(fig.axes[0], "get_zlim3d")                    # drawn in 2-D …
    (text,) = artists(fig, "message")
    assert "PC 3" in text.get_text() and "dropped" in text.get_text()   # … and says so
    assert len(artists(fig, "fixed_points:stable")[0].get_xdata()) == 8


def test_bit_patterns_round_to_the_nearest_corner_or_centre():
    y = np.array([[0.97, -1.02, 0.2], [-0.7, 0.5, -0.49], [-0.5, 3.0, 0.0]])
    assert plotting.bit_patterns(y) == ["+\N{MINUS SIGN}0", "\N{MINUS SIGN}+0", "\N{MINUS SIGN}+0"]


# x and y of each readout panel of the nested view, as (coefficients of y_1..y_N on x, on y), written
# out from the definition: the pair on the axes, the other bits at scale 0.35 (N = 3: the third bit on both)
PANELS = {
    2: [((1, 0), (0, 1))],
    3: [((1, 0, .35), (0, 1, .35)), ((1, .35, 0), (0, .35, 1)), ((.35, 1, 0), (.35, 0, 1))],
    4: [((1, 0, .35, 0), (0, 1, 0, .35)), ((1, .35, 0, 0), (0, 0, 1, .35)), ((1, .35, 0, 0), (0, 0, .35, 1))],
}


def bistable_readout_net(n_bits: int, lstm_like: bool):
    """Decoupled bistable units x' = tanh(2x) with the readout y = x / a: attractors read exactly ±1.

    ``lstm_like``: the state is concat(h, c) with a c half the readout must ignore (c = 3h + 0.5,
    stable directions with λ = 0.1)."""
    fps = closed_form_fixed_points(n_bits)
    a = stable_coordinate()
    readout = plotting.Readout(np.eye(n_bits) / a, np.zeros(n_bits))
    traj = closed_form_trajectories(n_bits, trials=6)
    if lstm_like:
        n, d = fps.xstar.shape
        fps.xstar = np.concatenate([fps.xstar, 3 * fps.xstar + 0.5], axis=1)
        fps.eigval_J_xstar = np.concatenate([fps.eigval_J_xstar, np.full((n, d), 0.1 + 0j)], axis=1)
        eigvec = np.zeros((n, 2 * d, 2 * d), complex)
        eigvec[:, :d, :d], eigvec[:, d:, d:] = fps.eigvec_J_xstar, np.eye(d)
        fps.eigvec_J_xstar = eigvec
        traj = np.concatenate([traj, 3 * traj + 0.5], axis=2)
    return fps, traj, readout, a


@pytest.mark.parametrize("n_bits, lstm_like", [(2, False), (3, False), (4, False), (3, True)])
def test_readout_view_puts_the_attractors_at_the_cube_corners_with_their_patterns(n_bits, lstm_like):
    fps, traj, readout, a = bistable_readout_net(n_bits, lstm_like)
    fig = plotting.plot_readout(fps, traj, readout, title="t")
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=n_bits)))
    names = ["".join("+" if s > 0 else "\N{MINUS SIGN}" for s in corner) for corner in corners]
    assert len(fig.axes) - (n_bits > 2) == len(PANELS[n_bits])           # + one cell for the legend
    for p, (cx, cy) in enumerate(PANELS[n_bits]):
        expected = corners @ np.array([cx, cy]).T                         # [2^N, 2]
        gaps = np.linalg.norm(expected[:, None] - expected[None], axis=2) + np.eye(len(expected)) * 9
        assert gaps.min() >= 0.69                                          # every corner on its own spot
        (stable,) = artists(fig, "fixed_points:stable", ax=p)
        got = np.column_stack(stable.get_data())
        order = np.lexsort(got.T)
        np.testing.assert_allclose(got[order], expected[np.lexsort(expected.T)], atol=1e-9)
        labels = {t.get_text(): np.array(t.get_position()) for t in artists(fig, "pattern", ax=p)}
        assert sorted(labels) == sorted(names)                             # each attractor labelled once
        for name, position in zip(names, expected):
            np.testing.assert_allclose(labels[name], position, atol=1e-9)
        # saddles at face centres: index k ⇔ k readout bits at 0
        for k in range(1, n_bits + 1):
            (saddles,) = artists(fig, f"fixed_points:index{k}", ax=p)
            assert len(saddles.get_xdata()) == math.comb(n_bits, k) * 2 ** (n_bits - k)


@pytest.mark.parametrize("pairs", [[(0, 1)], None])
def test_readout_labels_of_16_memories_do_not_overlap(pairs):
    """4 bits: in the main panel and in every panel of the grid, the 16 labels are drawn apart and
    inside the figure (checked on the rendered figure)."""
    fps, traj, readout, _ = bistable_readout_net(4, False)
    fig = plotting.plot_readout(fps, traj, readout, pairs=pairs)
    fig.canvas.draw()
    figure_box = fig.bbox
    for p in range(1 if pairs else 3):
        boxes = [t.get_window_extent() for t in artists(fig, "pattern", ax=p)]
        assert len(boxes) == 16
        overlaps = [(i, j) for i, j in itertools.combinations(range(16), 2) if boxes[i].overlaps(boxes[j])]
        assert not overlaps
        assert all(figure_box.contains(b.x0, b.y0) and figure_box.contains(b.x1, b.y1) for b in boxes)


def test_readout_projection_of_a_trained_like_readout():
    """A general readout: every projected trajectory point is (h·w_out + b_out)·M for the panel's M."""
    rng = np.random.default_rng(5)
    w_out, b_out = rng.normal(size=(4, 3)), rng.normal(size=3)
    fps = closed_form_fixed_points(3)
    fps.xstar = np.concatenate([fps.xstar, np.zeros((27, 1))], axis=1)
    fps.eigval_J_xstar = np.concatenate([fps.eigval_J_xstar, np.zeros((27, 1))], axis=1)
    fps.eigvec_J_xstar = np.stack([np.pad(v, ((0, 1), (0, 1))) + np.diag([0, 0, 0, 1]) for v in fps.eigvec_J_xstar])
    traj = rng.normal(size=(3, 7, 4))
    fig = plotting.plot_readout(fps, traj, plotting.Readout(w_out, b_out), plot_batch_idx=[1], pairs=[(1, 2)])
    (line,) = artists(fig, "trajectory")
    y = traj[1] @ w_out + b_out
    np.testing.assert_allclose(np.column_stack(line.get_data()), y @ np.array([[.35, .35], [1, 0], [0, 1]]),
                               atol=1e-9)
    assert fig.axes[0].get_xlabel() == "$y_{2} + 0.35\\,y_{1}$"


def test_readout_bad_arguments():
    fps, traj, readout, _ = bistable_readout_net(3, False)
    with pytest.raises(ValueError, match="pairs"):
        plotting.plot_readout(fps, traj, readout, pairs=[(0, 3)])
    with pytest.raises(ValueError, match="n_hidden=3"):
        plotting.plot_readout(types.SimpleNamespace(xstar=np.zeros((0, 2))), traj[..., :2], readout)
    with pytest.raises(ValueError, match="w_out"):
        plotting.Readout(np.zeros(3), np.zeros(3))
    fig = plotting.plot_readout(fps, traj, plotting.Readout(np.ones((3, 1)), np.zeros(1)))
    (text,) = artists(fig, "message")
    assert "at least 2 outputs" in text.get_text()


def test_slow_points_are_quiet_and_do_not_move_the_view():
    fps, traj, readout, a = bistable_readout_net(2, False)
    slow = types.SimpleNamespace(xstar=np.array([[0.3, 0.3], [-0.2, 0.4], [40.0, 40.0]]))
    for fig in (plotting.plot_fixed_points_2d(fps, traj, slow_points=slow, readout=readout),
                plotting.plot_readout(fps, traj, readout, slow_points=slow)):
        (line,) = artists(fig, "slow_points")
        assert len(line.get_xdata()) == 3 and line.get_marker() == "D" and line.get_fillstyle() == "none"
        (stable,) = artists(fig, "fixed_points:stable")
        assert line.get_markersize() < stable.get_markersize() and line.get_zorder() < stable.get_zorder()
        assert fig.axes[0].get_xlim()[1] < 5          # the far slow point is outside the view …
        (legend,) = fig.legends
        assert "slow points (3; 1 outside)" in [t.get_text() for t in legend.get_texts()]


def test_pca_labels_name_every_attractor_and_merge_coincident_ones():
    fps, traj, readout, a = bistable_readout_net(3, False)
    expected = sorted("".join(c) for c in itertools.product("\N{MINUS SIGN}+", repeat=3))
    fig = plotting.plot_fixed_points_2d(fps, traj, readout=readout)
    texts = [t.get_text() for t in artists(fig, "pattern")]
    assert sorted(line for text in texts for line in text.split("\n")) == expected   # each of the 8 once
    fps.xstar[fps.is_stable] *= 0.01            # all eight attractors within 1 % of the view: one label
    fig = plotting.plot_fixed_points_2d(fps, traj, readout=plotting.Readout(np.eye(3) / (0.01 * a), np.zeros(3)))
    (text,) = artists(fig, "pattern")
    assert sorted(text.get_text().split("\n")) == expected


# -- aggregate figures ----------------------------------------------------------------------------

def runs_table() -> pd.DataFrame:
    """2 tasks × 2 archs × 3 seeds; one diverged run, one that did not converge, one whose analysis was
    skipped. As in runs.csv, the counts of runs without fixed-point analysis are missing (pd.NA)."""
    rows = []
    rng = np.random.default_rng(1)
    for task, n_bits in (("3bit", 3), ("2bit", 2)):
        for arch in ("tanh", "gru"):
            for seed in range(3):
                diverged = task == "3bit" and arch == "gru" and seed == 1
                skipped = task == "2bit" and arch == "gru" and seed == 0
                converged = not diverged and not (task == "2bit" and arch == "tanh" and seed == 2)
                counts = np.zeros(2 * n_bits + 1)
                if not diverged and not skipped:
                    counts[: n_bits + 1] = [math.comb(n_bits, k) * 2 ** (n_bits - k) for k in range(n_bits + 1)]
                    counts[: n_bits + 1] -= rng.integers(0, 2, n_bits + 1)
                row = dict(task=task, arch=arch, seed=seed, n_bits=n_bits, n_hidden=n_bits + 1, epochs=50,
                           final_train_loss=1e-4, final_valid_loss=1e-4, converged=converged, diverged=diverged,
                           n_fixed_points=int(counts.sum()), n_stable=int(counts[0]), _missing=diverged or skipped,
                           expected_stable=2 ** n_bits, expected_total=3 ** n_bits,
                           wall_s_data=0.1, wall_s_train=1.0, wall_s_fixed_points=1.0)
                row.update({f"n_index_{k}": int(c) for k, c in enumerate(counts)})
                rows.append(row)
    table = pd.DataFrame(rows)
    counted = [c for c in table.columns if c.startswith("n_index_")] + ["n_fixed_points", "n_stable"]
    table = table.astype({c: "Int64" for c in counted})
    table.loc[table.pop("_missing"), counted] = pd.NA
    return table


def with_census(table: pd.DataFrame) -> pd.DataFrame:
    """The columns colleagues add to runs.csv: n_slow, the memory census, certified (NA where not run)."""
    out = table.copy()
    n = len(out)
    missing = out["n_stable"].isna().to_numpy()
    stable = out["n_stable"].fillna(0).astype(int).to_numpy()
    slow_memories = np.where(np.arange(n) % 2 == 0, 1, 0)
    held = np.minimum(stable + slow_memories + (np.arange(n) % 3 == 0), out["expected_stable"].to_numpy())
    at_slow = np.minimum(slow_memories, held - stable)
    for name, values in (("n_slow", np.arange(n) % 4), ("n_memories", held), ("n_memories_at_stable_points", stable),
                         ("n_memories_at_slow_points", at_slow)):
        out[name] = pd.array(np.where(missing, 0, values), dtype="Int64")
        out.loc[missing, name] = pd.NA
    out["certified"] = pd.array([None if m else bool(i % 2) for i, m in enumerate(missing)], dtype="boolean")
    return out


def test_stable_counts_one_point_per_run_at_its_seed_with_status_markers():
    runs = runs_table()
    fig = plotting.plot_stable_counts(runs)
    assert len(fig.axes) == 4                              # 2 rows (stable, all) × 2 tasks, no optional rows
    tasks = ["2bit", "3bit"]
    status = [plotting.run_status(c, d) for c, d in zip(runs.converged, runs.diverged)]
    for i, ax in enumerate(fig.axes):
        row, task = divmod(i, 2)
        column = ("n_stable", "n_fixed_points")[row]
        group = runs.assign(status=status)[runs.task == tasks[task]]
        points = {a.get_gid(): a for a in ax.lines if str(a.get_gid()).startswith("runs:")}
        assert sum(len(a.get_xdata()) for a in points.values()) == len(group)
        for (arch, state), rows in group.groupby(["arch", "status"]):
            line = points[f"runs:{arch}:{state}"]
            assert sorted(line.get_ydata()) == sorted(rows[column].fillna(0).astype(float))
            assert line.get_marker() == plotting.STATUS_STYLE[state]["marker"]
            assert line.get_color() == plotting.ARCH_COLORS[arch]
            # each run sits in its seed's slot: x rounds to the seed's tick
            assert sorted(np.round(line.get_xdata()).astype(int)) == sorted(rows.seed)
        (expected,) = [a for a in ax.lines if a.get_gid() == "expected"]
        assert expected.get_ydata()[0] == {0: [4, 8], 1: [9, 27]}[row][task]
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == ["0", "1", "2"]
    assert [ax.get_title() for ax in fig.axes[:2]] == ["2bit (N = 2)", "3bit (N = 3)"]
    assert not [a for a in fig.findobj() if str(a.get_gid()).startswith(("memories:", "slow:", "certified"))]


def test_stable_counts_draw_slow_points_memories_and_certificates_when_present():
    runs = with_census(runs_table())
    fig = plotting.plot_stable_counts(runs)
    assert len(fig.axes) == 8                              # + slow points and memories rows
    memory_axes = fig.axes[6:]
    for task, ax in zip(("2bit", "3bit"), memory_axes):
        group = runs[runs.task == task]
        for arch in ("gru", "tanh"):
            rows = group[(group.arch == arch) & group.n_memories.notna()]
            heights = {where: [p.get_height() for p in ax.patches if p.get_gid() == f"memories:{arch}:{where}"]
                       for where in ("stable", "slow", "other", "lost")}
            held, at_stable = rows.n_memories.astype(int), rows.n_memories_at_stable_points.astype(int)
            at_slow = rows.n_memories_at_slow_points.astype(int)
            assert heights["stable"] == list(at_stable) and heights["slow"] == list(at_slow)
            assert heights["other"] == list(held - at_stable - at_slow)
            assert heights["lost"] == list(rows.expected_stable.astype(int) - held)
            # every bar reaches 2^N: the memories are all accounted for
            np.testing.assert_array_equal(np.sum(list(heights.values()), axis=0), rows.expected_stable.astype(float))
    for task, ax in zip(("2bit", "3bit"), fig.axes[2:4]):           # row 2: all fixed points, certified ringed
        group = runs[runs.task == task]
        (rings,) = [a for a in ax.lines if a.get_gid() == "certified"]
        chosen = group.certified.fillna(False).to_numpy(bool)
        assert sorted(rings.get_ydata()) == sorted(group.n_fixed_points[chosen].astype(float))
    for task, ax in zip(("2bit", "3bit"), fig.axes[4:6]):           # row 3: slow points
        group = runs[runs.task == task]
        ys = [y for a in ax.lines if str(a.get_gid()).startswith("slow:") for y in a.get_ydata()]
        assert sorted(ys) == sorted(group.n_slow.fillna(0).astype(float))
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert {"held at a stable point", "held at a slow point", "lost", "certified: all fixed points"} <= set(texts)


def test_architecture_colours_do_not_depend_on_the_sweep():
    runs = runs_table()
    alone = plotting.plot_stable_counts(runs[runs.arch == "gru"])
    both = plotting.plot_stable_counts(runs)
    for fig in (alone, both):
        colors = {a.get_gid().split(":")[1]: a.get_color() for a in fig.axes[0].lines
                  if str(a.get_gid()).startswith("runs:")}
        assert colors["gru"] == plotting.ARCH_COLORS["gru"] == plotting.arch_color("GRU")
    assert len(set(plotting.ARCH_COLORS.values())) == 3


def test_stable_counts_names_missing_columns():
    with pytest.raises(ValueError, match="n_stable"):
        plotting.plot_stable_counts(runs_table().drop(columns="n_stable"))


def test_saddle_index_means_per_run_dots_and_ideal_without_error_bars():
    runs = runs_table()
    fig = plotting.plot_saddle_index_histogram(runs)
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["2bit", "3bit"]
    for ax, (task, n_bits) in zip(fig.axes, (("2bit", 2), ("3bit", 3))):
        (ideal,) = [a for a in ax.lines if a.get_gid() == "ideal"]
        literal = {2: [4, 4, 1], 3: [8, 12, 6, 1]}[n_bits]
        assert list(ideal.get_ydata()[: n_bits + 1]) == literal
        for arch in ("gru", "tanh"):
            rows = runs[(runs.task == task) & (runs.arch == arch) & runs.n_fixed_points.notna()].sort_values("seed")
            heights = [p.get_height() for p in ax.patches if p.get_gid() == f"bars:{arch}"]
            counts = np.array([rows[f"n_index_{k}"].astype(float) for k in range(len(heights))])   # [k, runs]
            np.testing.assert_allclose(heights, counts.mean(axis=1))
            (dots,) = [a for a in ax.lines if a.get_gid() == f"seeds:{arch}"]
            np.testing.assert_array_equal(dots.get_ydata(), counts.T.ravel())   # one dot per run and index
        assert not ax.collections and not ax.get_legend()          # no error bars, no legend over the bars
    assert fig.axes[0].get_title() == "2bit: 6 runs\n1 without fixed points (excluded)"
    assert fig.axes[1].get_title() == "3bit: 6 runs\n1 diverged (excluded)"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "gru: mean over seeds", "gru: each run", "tanh: mean over seeds", "tanh: each run",
        "ideal $C(N,k)\\,2^{N-k}$"]


def training_curves():
    rng = np.random.default_rng(2)
    curves = []
    for task in ("2bit", "10bit", "3bit"):
        for arch in ("tanh", "lstm"):
            for seed in (0, 1):
                loss = np.exp(-np.linspace(0, 5, 30 + seed)) + rng.uniform(0, 1e-3, 30 + seed)
                diverged = task == "3bit" and seed == 1
                if diverged:
                    loss[20:] = np.nan
                curves.append(dict(task=task, arch=arch, seed=seed, train_loss=loss,
                                   converged=not diverged and seed == 0, diverged=diverged))
    return curves


def test_training_curves_one_panel_per_task_and_arch():
    fig = plotting.plot_training_curves(training_curves())
    assert [ax.get_title() for ax in fig.axes] == [
        "2bit lstm", "3bit lstm", "10bit lstm", "2bit tanh", "3bit tanh", "10bit tanh"]
    for ax in fig.axes:
        assert ax.get_yscale() == "log"
        task, arch = ax.get_title().split()
        lines = [a for a in ax.lines if str(a.get_gid()).startswith("curve:")]
        assert sorted(a.get_gid() for a in lines) == [f"curve:{task}:{arch}:{s}" for s in (0, 1)]
        for line in lines:
            seed = int(line.get_gid().rsplit(":", 1)[1])
            assert len(line.get_xdata()) == 30 + seed
            assert line.get_linestyle() == ("-" if seed == 0 or task == "3bit" else "--")
            assert line.get_color() == f"C{seed}"                   # a seed's colour in every panel
        assert ax.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["seed 0", "seed 1", "not converged",
                                                          "diverged (last finite loss)"]
    with pytest.raises(ValueError, match="train_loss"):
        plotting.plot_training_curves([{"task": "2bit", "arch": "tanh", "seed": 0}])


# -- paper-ready defaults, files and imports -------------------------------------------------------

def every_figure():
    fps, traj, readout, _ = bistable_readout_net(4, False)
    runs = with_census(runs_table())
    return {
        "pca_2d": plotting.plot_fixed_points_2d(fps, traj, readout=readout),
        "pca_3d": plotting.plot_fixed_points_3d(fps, traj, readout=readout),
        "readout": plotting.plot_readout(fps, traj, readout),
        "readout_panel": plotting.plot_readout(fps, traj, readout, pairs=[(0, 1)]),
        "stable_counts": plotting.plot_stable_counts(runs),
        "saddle_index": plotting.plot_saddle_index_histogram(runs),
        "training_curves": plotting.plot_training_curves(training_curves()),
        "message": plotting.plot_message("nothing to draw", "title"),
    }


def test_every_figure_fits_a_page_with_text_of_at_least_8_points():
    for name, fig in every_figure().items():
        width, _ = fig.get_size_inches()
        assert width <= 7.0, name                                  # a two-column page: printed at this size
        texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
        assert texts, name
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < plotting.FONT_SIZE]
        assert not small, (name, small)
        assert not [t.get_text() for t in texts if "^" in t.get_text() and "$" not in t.get_text()], name


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_save_figure_is_byte_identical_and_has_no_dates(tmp_path, suffix):
    fps, traj = closed_form_fixed_points(3), closed_form_trajectories(3)
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    plotting.save_figure(plotting.plot_fixed_points_3d(fps, traj), first)
    plotting.save_figure(plotting.plot_fixed_points_3d(fps, traj), second)
    data = first.read_bytes()
    assert data == second.read_bytes() and len(data) > 1000
    for word in (b"Matplotlib version", b"CreationDate", b"ModDate", b"<dc:date>"):
        assert word not in data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name])


def test_png_at_200_dpi_and_vector_pdf(tmp_path):
    from PIL import Image

    fig = plotting.plot_fixed_points_2d(closed_form_fixed_points(2), closed_form_trajectories(2))
    png, pdf = plotting.save_figures(fig, [tmp_path / "a.png", tmp_path / "a.pdf"])
    with Image.open(png) as image:
        assert image.size == tuple(round(200 * s) for s in fig.get_size_inches())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/Subtype /Image" not in data        # lines and text, no raster
    assert b"/FontFile2" in data                                                # TrueType fonts embedded


def test_png_and_pdf_share_the_layout_of_the_first_format(tmp_path):
    """save_figures lays a figure out once (the PDF keeps the PNG's axes positions instead of laying itself
    out with its own text metrics) and gives the figure its layout engine back."""
    def positions(fig):
        return np.array([ax.get_position().bounds for ax in fig.axes])

    def figure():
        return plotting.plot_fixed_points_2d(closed_form_fixed_points(2), closed_form_trajectories(2))

    png_only, pdf_only, both = figure(), figure(), figure()
    plotting.save_figures(png_only, [tmp_path / "a.png"])
    plotting.save_figures(pdf_only, [tmp_path / "b.pdf"])
    assert not np.array_equal(positions(png_only), positions(pdf_only))     # the two formats lay out apart
    engine = both.get_layout_engine()
    plotting.save_figures(both, [tmp_path / "c.png", tmp_path / "c.pdf"])
    np.testing.assert_array_equal(positions(both), positions(png_only))
    assert both.get_layout_engine() is engine and (tmp_path / "c.png").read_bytes() == (tmp_path / "a.png").read_bytes()


def test_png_drawn_once_has_the_bytes_of_savefig(tmp_path):
    """save_figure draws a PNG once (the layout inside the draw) instead of savefig's two draws: same bytes
    as Matplotlib's savefig for every kind of figure (2-D, 3-D, panels, legends, messages); the figure
    keeps its canvas and dpi, and a figure shown in a window is not resized by another dpi."""
    import io

    import matplotlib
    from PIL import Image

    references = every_figure()
    for name, fig in every_figure().items():
        buffer = io.BytesIO()
        with matplotlib.rc_context(plotting.PAPER_STYLE):
            references[name].savefig(buffer, format="png", dpi=plotting.DPI, metadata={"Software": None})
        canvas, dpi = fig.canvas, fig.dpi
        path = plotting.save_figure(fig, tmp_path / f"{name}.png")
        assert path.read_bytes() == buffer.getvalue(), name
        assert fig.canvas is canvas and fig.dpi == dpi, name
    shown, resizes = plotting.plot_message("x"), []        # a figure in a window: saving must not resize it
    shown.canvas.manager = types.SimpleNamespace(resize=lambda *size: resizes.append(size))
    plotting.save_figure(shown, tmp_path / "small.png", dpi=50)
    with Image.open(tmp_path / "small.png") as image:
        assert image.size == tuple(round(50 * s) for s in shown.get_size_inches())
    assert shown.dpi == plotting.DPI and resizes == []


def test_save_figure_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"\.jpg"):
        plotting.save_figure(plotting.plot_message("x"), tmp_path / "a.jpg")
    assert list(tmp_path.iterdir()) == []


def test_imports_stay_light_and_headless():
    code = ("import sys, fixedpoints; assert 'matplotlib' not in sys.modules, 'fixedpoints imports matplotlib'; "
            "import fixedpoints.plotting; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert 'jax' not in sys.modules and 'sklearn' not in sys.modules, 'plotting imports jax or sklearn'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_figures_show_themselves_in_notebooks(tmp_path):
    """What IPython displays (without pyplot or an inline backend) is the saved file, byte for byte, even
    under a user's savefig settings, which the saved files ignore too."""
    import matplotlib

    fig = plotting.plot_fixed_points_2d(closed_form_fixed_points(2), closed_form_trajectories(2))
    with matplotlib.rc_context({"savefig.facecolor": "red", "savefig.transparent": True}):
        png = fig._repr_png_()
        assert png == plotting.save_figure(fig, tmp_path / "a.png").read_bytes()
    assert png == plotting.save_figure(fig, tmp_path / "b.png").read_bytes()
