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


def artists(fig, gid):
    ax = fig.axes[0]
    return [a for a in ax.get_children() if a.get_gid() == gid]


def data_of(line, dims):
    return np.column_stack(line.get_data_3d() if dims == 3 else line.get_data())


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
    segments = artists(fig, "unstable_mode")
    assert len(segments) == d * 3 ** (d - 1) == int(np.sum(fps.n_unstable))
    saddle_xy = pca_projection(traj, fps.xstar[~fps.is_stable], dims)
    axes_xy = pca_projection(traj, np.eye(d), dims) - pca_projection(traj, np.zeros((1, d)), dims)
    signs = np.sign(np.sum(got * expected, axis=0))
    for seg in segments:
        ends = data_of(seg, dims)
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
    assert fig.axes[0].get_xlabel() == f"PC 1 ({100 * ratio[0]:.1f}% var.)"
    assert fig.axes[0].get_ylabel() == f"PC 2 ({100 * ratio[1]:.1f}% var.)"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][1:] == [
        "stable (8)", "saddle, index 1 (12)", "saddle, index 2 (6)", "saddle, index 3 (1)", "unstable directions"]
    assert fig.axes[0].get_title() == "8 stable / 27"


def test_complex_pair_gives_two_segments_spanning_its_plane():
    # a single fixed point at 0 with J = 1.5·rotation(0.7): unstable complex pair
    theta = 0.7
    jac = 1.5 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    lam, vec = np.linalg.eig(jac)
    fps = types.SimpleNamespace(xstar=np.zeros((1, 2)), eigval_J_xstar=lam[None], eigvec_J_xstar=vec[None],
                                is_stable=np.array([False]), n_unstable=np.array([2]))
    traj = closed_form_trajectories(2)
    fig = plotting.plot_fixed_points_2d(fps, traj)
    segments = artists(fig, "unstable_mode")
    assert len(segments) == 2
    directions = np.array([np.diff(data_of(s, 2), axis=0)[0] for s in segments])
    assert abs(np.linalg.det(directions)) > 1e-3 * np.prod(np.linalg.norm(directions, axis=1))


def test_no_fixed_points_still_draws_trajectories_and_says_so():
    traj = closed_form_trajectories(3)
    empty = types.SimpleNamespace(xstar=np.zeros((0, 3)))
    for plot in (plotting.plot_fixed_points_2d, plotting.plot_fixed_points_3d):
        fig = plot(empty, traj, note="skipped: training diverged")
        (text,) = artists(fig, "message")
        assert "no fixed points" in text.get_text() and "diverged" in text.get_text()
        assert len(artists(fig, "trajectory")) == min(20, traj.shape[0])
        assert not [a for a in fig.axes[0].get_children() if str(a.get_gid()).startswith("fixed_points")]
        assert fig.axes[0].get_title() == "0 stable / 0"


def test_two_state_network_2d_works_and_3d_says_why_skipped():
    d = 2
    fps, traj = closed_form_fixed_points(d), closed_form_trajectories(d)
    fig2 = plotting.plot_fixed_points_2d(fps, traj)
    assert len(data_of(artists(fig2, "fixed_points:stable")[0], 2)) == 4
    assert len(artists(fig2, "unstable_mode")) == d * 3 ** (d - 1)
    fig3 = plotting.plot_fixed_points_3d(fps, traj, title="2-bit tanh seed 0: 4 stable / 9")
    (text,) = artists(fig3, "message")
    assert "3D PCA skipped" in text.get_text() and "only 2 dimensions" in text.get_text()
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


def test_stable_counts_one_point_per_run_with_status_markers():
    runs = runs_table()
    fig = plotting.plot_stable_counts(runs)
    assert len(fig.axes) == 2
    for ax, column in zip(fig.axes, ("n_stable", "n_fixed_points")):
        points = {a.get_gid(): a for a in ax.lines if str(a.get_gid()).startswith("runs:")}
        assert sum(len(a.get_xdata()) for a in points.values()) == len(runs)
        for (arch, status), group in runs.assign(
                status=[plotting.run_status(c, d) for c, d in zip(runs.converged, runs.diverged)]
        ).groupby(["arch", "status"]):
            line = points[f"runs:{arch}:{status}"]
            assert sorted(line.get_ydata()) == sorted(group[column].fillna(0).astype(float))
            assert line.get_marker() == plotting.STATUS_STYLE[status]["marker"]
        assert len(points["runs:gru:diverged"].get_xdata()) == 1
        assert points["runs:tanh:not converged"].get_fillstyle() == "none"
        expected = sorted(a.get_ydata()[0] for a in ax.lines if a.get_gid() == "expected")
        assert expected == ([4.0, 8.0] if column == "n_stable" else [9.0, 27.0])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2bit", "3bit"]


def test_stable_counts_names_missing_columns():
    with pytest.raises(ValueError, match="n_stable"):
        plotting.plot_stable_counts(runs_table().drop(columns="n_stable"))


def test_saddle_index_histogram_means_and_ideal():
    runs = runs_table()
    fig = plotting.plot_saddle_index_histogram(runs)
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["2bit", "3bit"]
    for ax, (task, n_bits) in zip(fig.axes, (("2bit", 2), ("3bit", 3))):
        (ideal,) = [a for a in ax.lines if a.get_gid() == "ideal"]
        literal = {2: [4, 4, 1], 3: [8, 12, 6, 1]}[n_bits]
        assert list(ideal.get_ydata()[: n_bits + 1]) == literal
        for arch in ("gru", "tanh"):
            (bars,) = [c for c in ax.containers if c.get_label().startswith(arch)]
            rows = runs[(runs.task == task) & (runs.arch == arch) & runs.n_fixed_points.notna()]
            heights = [p.get_height() for p in bars.patches]
            means = [rows[f"n_index_{k}"].astype(float).mean() for k in range(len(heights))]
            np.testing.assert_allclose(heights, means)
    assert fig.axes[0].get_title() == "2bit: 6 runs, 1 without fixed points (excluded)"
    assert fig.axes[1].get_title() == "3bit: 6 runs, 1 diverged (excluded)"
    labels = [c.get_label() for c in fig.axes[0].containers if not c.get_label().startswith("_")]
    assert labels == ["gru (mean ± sd, 2 runs)", "tanh (mean ± sd, 3 runs)"]


def test_training_curves_one_panel_per_task_and_arch():
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
    fig = plotting.plot_training_curves(curves)
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
    with pytest.raises(ValueError, match="train_loss"):
        plotting.plot_training_curves([{"task": "2bit", "arch": "tanh", "seed": 0}])


# -- files and imports ----------------------------------------------------------------------------

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


def test_save_figure_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"\.jpg"):
        plotting.save_figure(plotting.plot_message("x"), tmp_path / "a.jpg")
    assert list(tmp_path.iterdir()) == []


def test_imports_stay_light_and_headless():
    code = ("import sys, fixedpoints; assert 'matplotlib' not in sys.modules, 'fixedpoints imports matplotlib'; "
            "import fixedpoints.plotting; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_figures_show_themselves_in_notebooks(tmp_path):
    fig = plotting.plot_fixed_points_2d(closed_form_fixed_points(2), closed_form_trajectories(2))
    png = fig._repr_png_()          # what IPython displays, without pyplot or an inline backend
    assert png == plotting.save_figure(fig, tmp_path / "a.png").read_bytes()
