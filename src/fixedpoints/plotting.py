"""Figures: fixed points over PCA views of hidden-state trajectories, and sweep summaries.

Every function builds a `matplotlib.figure.Figure` with the object API (no ``pyplot`` state), so
it works headless (Agg), and returns it; the figures show themselves in notebooks (``_repr_png_``).
`save_figure` writes PNG/PDF/SVG files that are byte-identical for identical figures (no dates or
software strings in the metadata).

PCA (scikit-learn) is fitted on every finite state of the trajectories ``state_traj`` [trials,
time, d]; fixed points x* [n, d] and their unstable modes are drawn in the same projection
z = (x − mean) Vᵀ, with V the leading principal axes. A fixed point is *stable* when every
eigenvalue of its recurrent Jacobian J = ∂F/∂x (x*) has |λ| < 1; otherwise its *index* is the
number of eigenvalues with |λ| > 1 (a saddle of index k has k unstable directions). Each unstable
direction is drawn as a segment x* ± ℓ·v through the fixed point, with v the unit eigenvector (for
a complex pair λ, λ̄: Re v for λ and Im v for λ̄, which span the unstable plane).

The artists carry gids that name what they show: ``"trajectory"`` (one line per trial),
``"fixed_points:stable"``, ``"fixed_points:index{k}"`` (markers), ``"unstable_mode"`` (one line
per unstable direction), ``"message"`` (text of a figure that explains why nothing is drawn),
``"runs:{arch}:{status}"`` and ``"expected"`` (aggregates), ``"curve:{task}:{arch}:{seed}"``.
"""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Line3D

from .io import atomic_path

__all__ = [
    "plot_fixed_points_2d", "plot_fixed_points_3d", "plot_message", "plot_saddle_index_histogram",
    "plot_run", "plot_stable_counts", "plot_training_curves", "save_figure", "fixed_point_title",
]

DPI = 100
STABLE_COLOR = "black"
TRAJECTORY_COLOR = "#4c72b0"
# saddle colours by index 1, 2, 3, ... (cycled for larger indices)
INDEX_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
MARGINAL_COLOR = "#7f7f7f"
STATUS_STYLE = {   # run status -> marker style in the aggregate figures
    "converged": {"marker": "o", "fillstyle": "full"},
    "not converged": {"marker": "s", "fillstyle": "none"},
    "diverged": {"marker": "X", "fillstyle": "full"},
}
RUN_COLUMNS = ("task", "arch", "seed", "n_bits", "converged", "diverged", "n_fixed_points", "n_stable",
               "expected_stable", "expected_total")


class NotebookFigure(Figure):
    """A `matplotlib.figure.Figure` that shows itself as a PNG in Jupyter/IPython (``_repr_png_``),
    whether or not ``pyplot`` or an inline backend was loaded."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, metadata=_METADATA["png"])
        return buffer.getvalue()


# -- per-run PCA figures --------------------------------------------------------------------------

def index_color(k: int) -> str:
    """Colour of a saddle of index ``k`` ≥ 1 (grey for index 0 that is not stable, |λ| = 1)."""
    return MARGINAL_COLOR if k < 1 else INDEX_COLORS[(k - 1) % len(INDEX_COLORS)]


def fixed_point_title(n_stable: int, n_total: int, prefix: str | None = None) -> str:
    """``"{prefix}: {n_stable} stable / {n_total}"`` (or without the prefix)."""
    counts = f"{n_stable} stable / {n_total}"
    return f"{prefix}: {counts}" if prefix else counts


def plot_message(message: str, title: str | None = None, figsize=(6.4, 5.2)) -> Figure:
    """A figure with only a title and a centred ``message`` (gid ``"message"``): why nothing is drawn."""
    fig = NotebookFigure(figsize=figsize, dpi=DPI)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=11, gid="message",
            transform=ax.transAxes)
    if title:
        ax.set_title(title)
    return fig


def _fixed_point_arrays(fixed_points) -> dict[str, np.ndarray]:
    """xstar [n, d], is_stable [n], n_unstable [n], eigval [n, d], eigvec [n, d, d] of a FixedPoints-like."""
    if fixed_points is None:
        return {"xstar": np.zeros((0, 0))}
    xstar = np.asarray(fixed_points.xstar, np.float64)
    if xstar.ndim != 2:
        raise ValueError(f"fixed_points.xstar must have shape [n, d], got {xstar.shape}")
    n, d = xstar.shape
    out = {"xstar": xstar}
    if n == 0:
        return out
    for name, shape in (("is_stable", (n,)), ("n_unstable", (n,)), ("eigval_J_xstar", (n, d)),
                        ("eigvec_J_xstar", (n, d, d))):
        value = getattr(fixed_points, name, None)
        if value is None:
            raise ValueError(f"fixed_points.{name} is missing; compute and decompose the Jacobians "
                             f"(do_compute_jacobians=True, do_decompose_jacobians=True)")
        value = np.asarray(value)
        if value.shape != shape:
            raise ValueError(f"fixed_points.{name} must have shape {list(shape)}, got {list(value.shape)}")
        out[name] = value
    out["is_stable"] = out["is_stable"].astype(bool)
    out["n_unstable"] = out["n_unstable"].astype(int)
    return out


def unstable_directions(eigval_d: np.ndarray, eigvec_dxd: np.ndarray, n_unstable: int) -> np.ndarray:
    """Unit vectors [k, d] along the first ``n_unstable`` eigenvectors (eigenvalues sorted by |λ| desc).

    Real eigenvalue: the (real) eigenvector. Complex λ with Im λ > 0: Re v; Im λ < 0: Im v — so a
    conjugate pair gives two vectors spanning its invariant plane.
    """
    vectors = []
    for j in range(int(n_unstable)):
        v = eigvec_dxd[:, j]
        lam = eigval_d[j]
        if np.iscomplexobj(v):
            v = v.imag if np.imag(lam) < 0 else v.real
        v = np.asarray(v, np.float64)
        norm = np.linalg.norm(v)
        vectors.append(v / norm if norm > 0 else v)
    return np.asarray(vectors, np.float64).reshape(len(vectors), eigvec_dxd.shape[0])


def _check_trajectories(state_traj, d: int | None) -> np.ndarray:
    traj = np.asarray(state_traj, np.float64)
    if traj.ndim != 3:
        raise ValueError(f"state_traj must have shape [trials, time, d], got {list(traj.shape)}")
    if d and traj.shape[2] != d:
        raise ValueError(f"state_traj has state size {traj.shape[2]} but fixed_points.xstar has {d}")
    return traj


def _select_trials(n_trials: int, n_time: int, plot_batch_idx, plot_start_time: int) -> list[int]:
    idx = list(range(min(20, n_trials))) if plot_batch_idx is None else [int(i) for i in plot_batch_idx]
    bad = [i for i in idx if not 0 <= i < n_trials]
    if bad:
        raise ValueError(f"plot_batch_idx {bad} out of range for {n_trials} trials")
    if not 0 <= int(plot_start_time) < n_time:
        raise ValueError(f"plot_start_time must be in [0, {n_time}), got {plot_start_time}")
    return idx


def _plot_fixed_points(fixed_points, state_traj, n_components: int, *, plot_batch_idx, plot_start_time,
                       title, mode_length, note, figsize) -> Figure:
    from sklearn.decomposition import PCA

    arrays = _fixed_point_arrays(fixed_points)
    xstar = arrays["xstar"]
    n = xstar.shape[0]
    traj = _check_trajectories(state_traj, xstar.shape[1] if n else None)
    n_trials, n_time, d = traj.shape
    if title is None:
        title = fixed_point_title(int(arrays["is_stable"].sum()) if n else 0, n)
    if n_trials == 0 or n_time == 0:
        return plot_message("no hidden-state trajectories to project" + (f"\n{note}" if note else ""), title,
                            figsize)
    trials = _select_trials(n_trials, n_time, plot_batch_idx, plot_start_time)
    if d < n_components:
        why = (f"{n_components}D PCA skipped: the state has only {d} dimension{'s' * (d != 1)}"
               + (" (the 2D figure shows both)" if d == 2 else ""))
        return plot_message(why + (f"\n{note}" if note else ""), title, figsize)
    states = traj.reshape(-1, d)
    states = states[np.all(np.isfinite(states), axis=1)]
    if states.shape[0] < n_components + 1:
        return plot_message("no finite hidden states to project" + (f"\n{note}" if note else ""), title,
                            figsize)
    pca = PCA(n_components=n_components, svd_solver="full").fit(states)

    def project(x_kxd):
        # z = (x − mean) Vᵀ, as pca.transform, but letting NaN through (a gap in a line)
        return (np.asarray(x_kxd, np.float64) - pca.mean_) @ pca.components_.T

    fig = NotebookFigure(figsize=figsize, dpi=DPI, layout="constrained")
    ax = fig.add_subplot(projection="3d" if n_components == 3 else None)

    drawn: list[np.ndarray] = []

    def draw(points_kx, **kwargs):
        # add the line directly (no autoscaling per line: one autoscale at the end is much faster)
        z = project(points_kx)
        drawn.append(z)
        line = (Line3D if n_components == 3 else Line2D)(*(z[:, c] for c in range(n_components)), **kwargs)
        ax.add_line(line)
        return line

    legend: list[Any] = []
    for i, trial in enumerate(trials):
        line = draw(traj[trial, plot_start_time:], color=TRAJECTORY_COLOR, linewidth=0.6, alpha=0.5,
                    gid="trajectory", zorder=1)
        if i == 0:
            line.set_label(f"trajectories ({len(trials)} trials, t ≥ {plot_start_time})")
            legend.append(line)

    z_all = project(states)
    extent = float(np.max(np.ptp(z_all, axis=0))) if len(z_all) else 1.0
    length = 0.08 * extent if mode_length is None else float(mode_length)
    if n:
        stable, n_unstable = arrays["is_stable"], arrays["n_unstable"]
        for i in np.flatnonzero(~stable):
            for v in unstable_directions(arrays["eigval_J_xstar"][i], arrays["eigvec_J_xstar"][i], n_unstable[i]):
                draw(np.stack([xstar[i] - length * v, xstar[i] + length * v]), color=index_color(n_unstable[i]),
                     linewidth=1.2, gid="unstable_mode", zorder=2)
        groups = [("stable", stable, STABLE_COLOR, "full")]
        groups += [(f"index{k}", ~stable & (n_unstable == k), index_color(k), "none")
                   for k in sorted(set(n_unstable[~stable].tolist()))]
        for name, mask, color, fill in groups:
            if not mask.any():
                continue
            count = int(mask.sum())
            label = (f"stable ({count})" if name == "stable" else
                     f"saddle, index {name[5:]} ({count})" if name != "index0" else f"marginal |λ|=1 ({count})")
            legend.append(draw(xstar[mask], linestyle="none", marker="o", markersize=7, color=color,
                               markeredgecolor=color, fillstyle=fill, markeredgewidth=1.5, gid=f"fixed_points:{name}",
                               label=label, zorder=3))
        if (n_unstable[~stable] > 0).any():
            legend.append(Line2D([], [], color="0.3", linewidth=1.2, label="unstable directions"))
    message = None if n else "no fixed points found"
    if note:
        message = f"{message}\n{note}" if message else note
    if message:
        text = ax.text2D if n_components == 3 else ax.text
        text(0.02, 0.02, message, transform=ax.transAxes, gid="message")
    z_drawn = np.concatenate(drawn + [z_all])
    z_drawn = z_drawn[np.all(np.isfinite(z_drawn), axis=1)]
    if n_components == 3:
        ax.auto_scale_xyz(z_drawn[:, 0], z_drawn[:, 1], z_drawn[:, 2], had_data=False)
    else:
        ax.autoscale_view()
    ratio = pca.explained_variance_ratio_
    setters = (ax.set_xlabel, ax.set_ylabel) + ((ax.set_zlabel,) if n_components == 3 else ())
    for c, set_label in enumerate(setters):
        set_label(f"PC {c + 1} ({100 * ratio[c]:.1f}% var.)")
    ax.set_title(title)
    fig.legend(handles=legend, loc="outside right upper", fontsize=7)
    return fig


def plot_fixed_points_2d(fixed_points, state_traj, *, plot_batch_idx: Sequence[int] | None = None,
                         plot_start_time: int = 0, title: str | None = None, mode_length: float | None = None,
                         note: str | None = None, figsize=(8.0, 5.2)) -> Figure:
    """Fixed points on the first two principal components of the trajectories.

    Args:
      fixed_points: a `FixedPoints` (or anything with ``xstar`` [n, d], ``is_stable`` [n],
        ``n_unstable`` [n], ``eigval_J_xstar`` [n, d], ``eigvec_J_xstar`` [n, d, d]); None or n = 0
        draws the trajectories and says that there are no fixed points.
      state_traj: hidden states [trials, time, d]; PCA is fitted on all of them.
      plot_batch_idx: the trials drawn (default: the first 20), one thin line each.
      plot_start_time: first time step drawn of each trial.
      title: default ``"{n_stable} stable / {n}"``.
      mode_length: half-length ℓ of the unstable-direction segments in state units (default:
        8% of the largest projected extent of the trajectories).
      note: extra text printed in the lower left corner.
    Stable points: filled black circles; saddles: open circles coloured by index, with one segment
    per unstable direction.
    """
    return _plot_fixed_points(fixed_points, state_traj, 2, plot_batch_idx=plot_batch_idx,
                              plot_start_time=plot_start_time, title=title, mode_length=mode_length, note=note,
                              figsize=figsize)


def plot_fixed_points_3d(fixed_points, state_traj, *, plot_batch_idx: Sequence[int] | None = None,
                         plot_start_time: int = 0, title: str | None = None, mode_length: float | None = None,
                         note: str | None = None, figsize=(8.0, 5.8)) -> Figure:
    """As `plot_fixed_points_2d`, on the first three principal components (a 3D axes).

    A state of fewer than 3 dimensions gives a figure that says why the 3D view is skipped.
    """
    return _plot_fixed_points(fixed_points, state_traj, 3, plot_batch_idx=plot_batch_idx,
                              plot_start_time=plot_start_time, title=title, mode_length=mode_length, note=note,
                              figsize=figsize)


PLOT_RUN_DEFAULTS = {"trials": 20, "start_time": 0}


def plot_run(model_path: str | os.PathLike, fixed_points_path: str | os.PathLike, *,
             trials: int = PLOT_RUN_DEFAULTS["trials"], start_time: int = PLOT_RUN_DEFAULTS["start_time"],
             title: str | None = None) -> tuple[Figure, Figure]:
    """The 2D and 3D PCA figures of one run, from its ``model.h5`` and ``fixed_points.h5``.

    The trajectories are the file's ``states/hiddens``; the first ``trials`` of them are drawn from
    time ``start_time`` on. The title is ``"{title}: {n_stable} stable / {n}"`` with ``title``
    defaulting to ``"{n_bits}-bit {rnn_type} seed {seed}"`` from the model file. A file with no
    fixed points gives figures that say so, with its root attribute ``skipped_reason`` if any.
    """
    from .fixed_points import load_fixed_points
    from .io import MODEL_SCHEMA, load_model, read_attr, read_h5

    if int(trials) < 0:
        raise ValueError(f"trials must be >= 0, got {trials}")
    rnn = load_model(model_path)
    if title is None:
        with read_h5(model_path, MODEL_SCHEMA) as f:
            seed = read_attr(f, "seed", int) if "seed" in f.attrs else -1
        title = f"{rnn.n_inputs}-bit {rnn.rnn_type}" + (f" seed {seed}" if seed >= 0 else "")
    loaded = load_fixed_points(fixed_points_path, groups=("unique",))
    fps, hiddens = loaded["unique"], loaded["hiddens"]
    if fps.n_states != rnn.state_size:
        raise ValueError(f"{fixed_points_path}: state size {fps.n_states} does not match the model "
                         f"{model_path} (state size {rnn.state_size})")
    reason = loaded["attrs"].get("skipped_reason")
    note = f"skipped: {reason.decode() if isinstance(reason, bytes) else reason}" if reason else None
    n_stable = int(np.sum(fps.is_stable)) if fps.n and fps.is_stable is not None else 0
    full_title = fixed_point_title(n_stable, fps.n, title)
    options = dict(plot_batch_idx=range(min(int(trials), hiddens.shape[0])), plot_start_time=int(start_time),
                   title=full_title, note=note)
    return plot_fixed_points_2d(fps, hiddens, **options), plot_fixed_points_3d(fps, hiddens, **options)


# -- aggregate figures ----------------------------------------------------------------------------

def _natural_key(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def _flag(value) -> bool:
    """A boolean table cell; missing (None, NaN, pd.NA) counts as False."""
    try:
        return bool(value) and value == value
    except TypeError:        # pd.NA
        return False


def _numbers(column) -> np.ndarray:
    """A table column as float64, missing values (NaN, pd.NA) as NaN."""
    import pandas as pd

    return pd.Series(column).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def run_status(converged, diverged) -> str:
    """``"diverged"``, ``"converged"`` or ``"not converged"`` (diverged wins; missing flags are False)."""
    return "diverged" if _flag(diverged) else "converged" if _flag(converged) else "not converged"


def _check_runs(runs, columns: Sequence[str]):
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs table lacks column(s) {missing}; it has {list(runs.columns)}")
    if len(runs) == 0:
        raise ValueError("runs table is empty")


def _task_order(runs) -> list[str]:
    first = runs.groupby("task", sort=False)["n_bits"].first()
    return sorted(first.index, key=lambda t: (int(first[t]), _natural_key(t)))


def _arch_color(archs: Sequence[str], arch: str) -> str:
    return f"C{list(archs).index(arch) % 10}"


def plot_stable_counts(runs) -> Figure:
    """Number of stable fixed points (left) and of all fixed points (right) per run, by task.

    One point per run (seeds spread side by side, colour = architecture, marker = status:
    filled circle converged, open square not converged, cross diverged), and a black bar at the
    idealised count 2^N (stable) and 3^N (all) of an N-bit task. ``runs`` is the sweep table with
    columns task, arch, seed, n_bits, converged, diverged, n_fixed_points, n_stable,
    expected_stable, expected_total.
    """
    _check_runs(runs, RUN_COLUMNS)
    tasks = _task_order(runs)
    archs = sorted(runs["arch"].unique(), key=_natural_key)
    n_archs = len(archs)
    fig = NotebookFigure(figsize=(max(6.4, 2.2 * len(tasks) * 2), 4.2), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2)
    status = [run_status(c, d) for c, d in zip(runs["converged"], runs["diverged"])]
    runs = runs.assign(_status=status)
    width = 0.8 / n_archs
    for ax, column, expected, label in ((axes[0], "n_stable", "expected_stable", "stable fixed points"),
                                        (axes[1], "n_fixed_points", "expected_total", "all fixed points")):
        for t, task in enumerate(tasks):
            value = float(runs.loc[runs["task"] == task, expected].iloc[0])
            ax.plot([t - 0.45, t + 0.45], [value, value], color="black", linewidth=2, gid="expected",
                    label="idealised 2^N / 3^N" if t == 0 else None)
        for a, arch in enumerate(archs):
            for state, style in STATUS_STYLE.items():
                xs, ys = [], []
                for t, task in enumerate(tasks):
                    group = runs[(runs["task"] == task) & (runs["arch"] == arch)].sort_values("seed")
                    k = len(group)
                    centre = t - 0.4 + width * (a + 0.5)
                    offsets = (np.arange(k) - (k - 1) / 2) * (0.8 * width / max(k, 1))
                    chosen = (group["_status"] == state).to_numpy()
                    xs += list((centre + offsets)[chosen])
                    # a run without fixed-point counts (diverged or skipped) is drawn at 0
                    ys += list(np.nan_to_num(_numbers(group[column]), nan=0.0)[chosen])
                if xs:
                    color = "#d62728" if state == "diverged" else _arch_color(archs, arch)
                    ax.plot(xs, ys, linestyle="none", markersize=6, color=color, markeredgecolor=color,
                            gid=f"runs:{arch}:{state}", label=f"{arch}, {state} ({len(xs)})", **style)
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set_xlim(-0.6, len(tasks) - 0.4)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("task")
        ax.set_ylabel(f"number of {label}")
        ax.set_title(label.capitalize() + " per run")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def index_columns(runs) -> dict[int, str]:
    """{k: "n_index_k"} for the saddle-index columns present in ``runs``."""
    out = {}
    for name in runs.columns:
        match = re.fullmatch(r"n_index_(\d+)", str(name))
        if match:
            out[int(match.group(1))] = name
    return dict(sorted(out.items()))


def ideal_index_counts(n_bits: int) -> np.ndarray:
    """C(N, k)·2^(N−k) for k = 0..N: the fixed points of index k of an ideal N-bit flip-flop."""
    return np.array([math.comb(n_bits, k) * 2 ** (n_bits - k) for k in range(n_bits + 1)], np.float64)


def plot_saddle_index_histogram(runs) -> Figure:
    """Per task, the mean ± standard deviation over seeds of the number of fixed points of index k.

    One panel per task; bars per architecture over k = 0, 1, …; black markers show the idealised
    C(N, k)·2^(N−k). Diverged runs and runs without counts (missing values: analysis skipped) are
    excluded from the mean and counted in the panel title. Columns: task, arch, seed, n_bits, diverged and n_index_0 … n_index_d.
    """
    _check_runs(runs, ("task", "arch", "seed", "n_bits", "diverged"))
    columns = index_columns(runs)
    if not columns:
        raise ValueError(f"runs table has no n_index_k columns; it has {list(runs.columns)}")
    tasks = _task_order(runs)
    archs = sorted(runs["arch"].unique(), key=_natural_key)
    fig = NotebookFigure(figsize=(max(6.4, 3.6 * len(tasks)), 3.8), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(tasks), squeeze=False)[0])
    for ax, task in zip(axes, tasks):
        group = runs[runs["task"] == task]
        n_bits = int(group["n_bits"].iloc[0])
        diverged = np.array([_flag(v) for v in group["diverged"]], bool)
        counted = np.any([~np.isnan(_numbers(group[c])) for c in columns.values()], axis=0)
        ok = group[~diverged & counted]
        observed = [k for k, c in columns.items() if np.nan_to_num(_numbers(ok[c])).any()]
        k_max = max([n_bits] + observed)
        ks = np.arange(k_max + 1)
        width = 0.8 / len(archs)
        for a, arch in enumerate(archs):
            rows = ok[ok["arch"] == arch]
            if rows.empty:
                continue
            counts = np.stack([_numbers(rows[columns[k]]) if k in columns else np.zeros(len(rows))
                               for k in ks], axis=1)
            counts = np.nan_to_num(counts, nan=0.0)
            ax.bar(ks - 0.4 + width * (a + 0.5), counts.mean(axis=0), width, yerr=counts.std(axis=0),
                   color=_arch_color(archs, arch), alpha=0.8, capsize=2, gid=f"bars:{arch}",
                   label=f"{arch} (mean ± sd, {len(rows)} runs)")
        ideal = np.zeros(len(ks))
        ideal[: n_bits + 1] = ideal_index_counts(n_bits)
        ax.plot(ks, ideal, linestyle="none", marker="_", markersize=18, markeredgewidth=2.5, color="black",
                gid="ideal", label="ideal C(N,k)·2^(N−k)")
        n_div, n_skip = int(diverged.sum()), int((~diverged & ~counted).sum())
        excluded = [f"{n_div} diverged"] * bool(n_div) + [f"{n_skip} without fixed points"] * bool(n_skip)
        ax.set_title(f"{task}: {len(group)} runs" + (f", {' and '.join(excluded)} (excluded)" if excluded else ""),
                     fontsize=10)
        ax.set_xticks(ks)
        ax.set_xlabel("index k (unstable directions)")
        ax.set_ylabel("fixed points of index k")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def plot_training_curves(curves: Sequence[Mapping[str, Any]]) -> Figure:
    """Training loss against epoch (log scale), every seed, one panel per task (column) and arch (row).

    Each curve is a dict with keys task, arch, seed, train_loss (1-D array), converged, diverged.
    Converged: solid line; not converged: dashed; diverged: red, with a cross at the last finite
    loss. Non-finite and non-positive losses are not drawn.
    """
    required = ("task", "arch", "seed", "train_loss", "converged", "diverged")
    if not curves:
        raise ValueError("no training curves given")
    for i, curve in enumerate(curves):
        missing = [key for key in required if key not in curve]
        if missing:
            raise ValueError(f"training curve {i} lacks key(s) {missing}; expected {list(required)}")
    tasks = sorted({str(c["task"]) for c in curves}, key=_natural_key)
    archs = sorted({str(c["arch"]) for c in curves}, key=_natural_key)
    fig = NotebookFigure(figsize=(max(5.0, 4.2 * len(tasks)), 3.2 * len(archs)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(archs), len(tasks), squeeze=False, sharex=False)
    seeds = sorted({int(c["seed"]) for c in curves})
    for curve in sorted(curves, key=lambda c: (_natural_key(c["task"]), _natural_key(c["arch"]), int(c["seed"]))):
        ax = axes[archs.index(str(curve["arch"])), tasks.index(str(curve["task"]))]
        loss = np.asarray(curve["train_loss"], np.float64).ravel()
        shown = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        epochs = np.arange(1, len(loss) + 1)
        state = run_status(curve["converged"], curve["diverged"])
        color = "#d62728" if state == "diverged" else f"C{seeds.index(int(curve['seed'])) % 10}"
        ax.plot(epochs, shown, color=color, linewidth=1.0, linestyle="--" if state == "not converged" else "-",
                gid=f"curve:{curve['task']}:{curve['arch']}:{curve['seed']}",
                label=f"seed {curve['seed']}" + ("" if state == "converged" else f" ({state})"))
        if state == "diverged":
            finite = np.flatnonzero(np.isfinite(shown))
            if finite.size:
                ax.plot(epochs[finite[-1]], shown[finite[-1]], marker="x", color=color, markersize=8)
    for r, arch in enumerate(archs):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            ax.set_yscale("log")
            ax.set_title(f"{task} {arch}", fontsize=10)
            ax.set_xlabel("epoch")
            ax.set_ylabel("training loss (MSE)")
            ax.grid(alpha=0.3, which="both")
            if ax.lines:
                ax.legend(fontsize=6, ncol=2)
            else:
                ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
    return fig


# -- files ----------------------------------------------------------------------------------------

_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (.png, .pdf or .svg) reproducibly and atomically; return the path.

    The file has no date or software string in its metadata and a fixed ``dpi``, so the same figure
    gives the same bytes; it is written to a temporary file in the target folder and renamed.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _METADATA:
        raise ValueError(f"{path}: unsupported figure format {path.suffix!r}, expected one of "
                         f"{['.' + f for f in _METADATA]}")
    with atomic_path(path) as tmp_path, open(tmp_path, "wb") as handle, \
            matplotlib.rc_context({"svg.hashsalt": "fixedpoints"}):
        fig.savefig(handle, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return path
