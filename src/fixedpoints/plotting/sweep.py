"""Figures across the runs of a sweep: fixed-point counts, memories, saddle indices, training curves.

Every run is identifiable: in the counts figure the x axis of each task's panel is the seed (a tick
per seed, architectures side by side at their fixed colours, `common.ARCH_COLORS`); spread over
seeds is shown by one dot per run, never by error bars.

The artists carry gids: ``"runs:{arch}:{status}"`` (one line of markers per architecture and
training status, in the stable-count and all-count rows), ``"expected"`` (the ideal count),
``"certified"`` (rings around runs whose fixed points are proven complete), ``"slow:{arch}"``,
``"memories:{arch}:{where}"`` (bar segments, ``where`` = stable, slow, other, lost); ``"bars:{arch}"``,
``"seeds:{arch}"`` and ``"ideal"`` (saddle indices); ``"curve:{task}:{arch}:{seed}"`` (training).
"""

from __future__ import annotations

import re
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..topology import n_bit_index_counts
from .common import DPI, NotebookFigure, arch_color, paper_style

STATUS_STYLE = {   # run status -> marker style in the aggregate figures
    "converged": {"marker": "o", "fillstyle": "full"},
    "not converged": {"marker": "s", "fillstyle": "none"},
    "diverged": {"marker": "X", "fillstyle": "full"},
}
RUN_COLUMNS = ("task", "arch", "seed", "n_bits", "converged", "diverged", "n_fixed_points", "n_stable",
               "expected_stable", "expected_total")
MEMORY_COLUMNS = ("n_memories", "n_memories_at_stable_points", "n_memories_at_slow_points")
MEMORY_SEGMENTS = {   # where a memory is held -> (label, fill alpha, hatch)
    "stable": ("held at a stable point", 1.0, None),
    "slow": ("held at a slow point", 0.35, "////"),
    "other": ("held elsewhere (saddle, drifting)", 0.12, ".."),
    "lost": ("lost", 0.0, None),
}


def _natural_key(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def table_flag(value) -> bool:
    """A boolean table cell (bool, or 'True'/'False' from an untyped CSV); missing (None, NaN, pd.NA) is False."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    try:
        return bool(value) and value == value
    except TypeError:        # pd.NA
        return False


def table_missing(value) -> bool:
    """Whether a table cell is missing: None, NaN, pd.NA or an empty string."""
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or value == ""


def _numbers(column) -> np.ndarray:
    """A table column as float64, missing values (NaN, pd.NA) as NaN."""
    import pandas as pd

    return pd.Series(column).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def run_status(converged, diverged) -> str:
    """``"diverged"``, ``"converged"`` or ``"not converged"`` (diverged wins; missing flags are False)."""
    return "diverged" if table_flag(diverged) else "converged" if table_flag(converged) else "not converged"


def _check_runs(runs, columns: Sequence[str]):
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs table lacks column(s) {missing}; it has {list(runs.columns)}")
    if len(runs) == 0:
        raise ValueError("runs table is empty")


def _task_order(runs) -> list[str]:
    first = runs.groupby("task", sort=False)["n_bits"].first()
    return sorted(first.index, key=lambda t: (int(first[t]), _natural_key(t)))


def _archs(runs) -> list[str]:
    return sorted(runs["arch"].unique(), key=_natural_key)


def seed_positions(runs, task: str, archs: Sequence[str]) -> dict[tuple[str, int], float]:
    """x of each run (arch, seed) of ``task``: the seed's slot (0, 1, … in seed order), the
    architectures side by side within it."""
    group = runs[runs["task"] == task]
    seeds = sorted({int(s) for s in group["seed"]})
    width = 0.8 / len(archs)
    return {(arch, seed): i - 0.4 + width * (a + 0.5) for i, seed in enumerate(seeds)
            for a, arch in enumerate(archs)}


def _seed_axis(ax, runs, task: str) -> None:
    seeds = sorted({int(s) for s in runs.loc[runs["task"] == task, "seed"]})
    ax.set_xticks(range(len(seeds)), [str(s) for s in seeds])
    ax.set_xlim(-0.6, len(seeds) - 0.4)
    ax.set_xlabel("seed")


@paper_style
def plot_stable_counts(runs) -> Figure:
    """Per run: stable fixed points, all fixed points, and (when the table has them) slow points and
    where the run's memories are held. One column of panels per task, x = seed.

    Rows: (1) ``n_stable`` against the ideal 2^N; (2) ``n_fixed_points`` against 3^N, runs with
    ``certified`` true (an interval proof that these are all the fixed points) ringed; (3) when the
    column ``n_slow`` exists, the slow points found (not counted as fixed points); (4) when the
    columns ``n_memories, n_memories_at_stable_points, n_memories_at_slow_points`` exist, one bar
    per run of height 2^N split into the memories held at a stable point, at a slow point,
    elsewhere (n_memories minus both: at a saddle or drifting) and lost (2^N − n_memories). Colour
    = architecture; marker = training status (filled circle converged, open square not converged,
    cross diverged; a run without counts is drawn at 0). Required columns: task, arch, seed,
    n_bits, converged, diverged, n_fixed_points, n_stable, expected_stable, expected_total.
    """
    _check_runs(runs, RUN_COLUMNS)
    tasks, archs = _task_order(runs), _archs(runs)
    rows = [("n_stable", "expected_stable", "stable fixed points\n(ideal $2^N$)"),
            ("n_fixed_points", "expected_total", "all fixed points\n(ideal $3^N$)")]
    if "n_slow" in runs.columns:
        rows.append(("n_slow", None, "slow points\n(not counted)"))
    has_memories = all(c in runs.columns for c in MEMORY_COLUMNS)
    n_rows = len(rows) + has_memories
    fig = NotebookFigure(figsize=(7.0, 1.9 * n_rows + 0.8), dpi=DPI, layout="constrained")
    axes = fig.subplots(n_rows, len(tasks), squeeze=False, sharex="col")
    status = [run_status(c, d) for c, d in zip(runs["converged"], runs["diverged"])]
    runs = runs.assign(_status=status)
    certified = ([table_flag(v) for v in runs["certified"]] if "certified" in runs.columns else [False] * len(runs))
    runs = runs.assign(_certified=certified)
    for c, task in enumerate(tasks):
        group = runs[runs["task"] == task]
        x_of = seed_positions(runs, task, archs)
        x = np.array([x_of[(a, int(s))] for a, s in zip(group["arch"], group["seed"])])
        for r, (column, expected, label) in enumerate(rows):
            ax = axes[r, c]
            if expected is not None:
                ax.axhline(float(group[expected].iloc[0]), color="black", linewidth=1.2, gid="expected", zorder=1)
            y = np.nan_to_num(_numbers(group[column]), nan=0.0)   # no counts (diverged, skipped): at 0
            _run_markers(ax, group, x, y, archs, gid_prefix="runs" if expected is not None else "slow")
            if column == "n_fixed_points" and group["_certified"].any():
                chosen = group["_certified"].to_numpy()
                ax.plot(x[chosen], y[chosen], linestyle="none", marker="o", markersize=9, fillstyle="none",
                        color="black", markeredgewidth=0.8, gid="certified", zorder=4)
            ax.set_ylim(bottom=0, top=max(1.0, float(np.max(y)) if len(y) else 1.0,
                                          float(group[expected].iloc[0]) if expected else 0.0) * 1.15)
            ax.grid(axis="y", alpha=0.3)
            if c == 0:
                ax.set_ylabel(label)
        if has_memories:
            _memory_bars(axes[len(rows), c], group, x, archs)
            if c == 0:
                axes[len(rows), c].set_ylabel("memories\n(of $2^N$ patterns)")
        axes[0, c].set_title(f"{task} (N = {int(group['n_bits'].iloc[0])})")
        _seed_axis(axes[-1, c], runs, task)
    fig.legend(handles=_counts_legend(runs, archs, has_memories), loc="outside lower center", ncol=4)
    return fig


def _run_markers(ax, group, x, y, archs, gid_prefix: str) -> None:
    for arch in archs:
        for state, style in STATUS_STYLE.items():
            chosen = ((group["arch"] == arch) & (group["_status"] == state)).to_numpy()
            if chosen.any():
                color = arch_color(arch)
                gid = f"{gid_prefix}:{arch}:{state}" if gid_prefix == "runs" else f"slow:{arch}"
                ax.plot(x[chosen], y[chosen], linestyle="none", markersize=4.5, color=color,
                        markeredgecolor=color, gid=gid, zorder=3, **style)


def _memory_bars(ax, group, x, archs) -> None:
    """Stacked bars per run: memories held at a stable point / a slow point / elsewhere, and lost."""
    total = _numbers(group["expected_stable"])
    at_stable = _numbers(group["n_memories_at_stable_points"])
    at_slow = _numbers(group["n_memories_at_slow_points"])
    held = _numbers(group["n_memories"])
    parts = {"stable": at_stable, "slow": at_slow, "other": held - at_stable - at_slow, "lost": total - held}
    width = 0.8 / len(archs)
    arch_of = group["arch"].to_numpy()
    for arch in archs:
        chosen = (arch_of == arch) & ~np.isnan(held)
        if not chosen.any():
            continue
        bottom = np.zeros(int(chosen.sum()))
        for where, (_, alpha, hatch) in MEMORY_SEGMENTS.items():
            height = np.maximum(parts[where][chosen], 0.0)
            face = (*to_rgb(arch_color(arch)), alpha)
            ax.bar(x[chosen], height, width * 0.9, bottom=bottom, color=face, hatch=hatch,
                   edgecolor=arch_color(arch) if where != "lost" else "0.6", linewidth=0.5,
                   gid=f"memories:{arch}:{where}")
            bottom = bottom + height
    ax.axhline(float(total[0]), color="black", linewidth=1.2, gid="expected", zorder=1)
    ax.set_ylim(0, float(np.nanmax(total)) * 1.15)


def _counts_legend(runs, archs, has_memories: bool) -> list:
    handles: list[Any] = [Patch(color=arch_color(a), label=a) for a in archs]
    present = set(runs["_status"])
    handles += [Line2D([], [], linestyle="none", color="0.3", markersize=5, label=state, **style)
                for state, style in STATUS_STYLE.items() if state in present]
    handles.append(Line2D([], [], color="black", linewidth=1.2, label="ideal count ($2^N$, $3^N$)"))
    if runs["_certified"].any():
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9, fillstyle="none",
                              color="black", markeredgewidth=0.8, label="certified: all fixed points"))
    if has_memories:
        handles += [Patch(facecolor=(0.3, 0.3, 0.3, alpha), hatch=hatch, edgecolor="0.3", linewidth=0.5,
                          label=label) for label, alpha, hatch in MEMORY_SEGMENTS.values()]
    return handles


def index_columns(runs) -> dict[int, str]:
    """{k: "n_index_k"} for the saddle-index columns present in ``runs``."""
    out = {}
    for name in runs.columns:
        match = re.fullmatch(r"n_index_(\d+)", str(name))
        if match:
            out[int(match.group(1))] = name
    return dict(sorted(out.items()))


@paper_style
def plot_saddle_index_histogram(runs) -> Figure:
    """Per task, the fixed points of each index k: the mean over seeds (bar) and every run (dot).

    One panel per task; per architecture a bar over k = 0, 1, … at the mean, with one dot per run
    (seeds in increasing order from left to right within the bar); black marks show the ideal
    C(N, k)·2^(N−k). Diverged runs and runs without counts (missing values: analysis skipped) are
    excluded and counted in the panel title. Columns: task, arch, seed, n_bits, diverged and
    n_index_0 … n_index_d.
    """
    _check_runs(runs, ("task", "arch", "seed", "n_bits", "diverged"))
    columns = index_columns(runs)
    if not columns:
        raise ValueError(f"runs table has no n_index_k columns; it has {list(runs.columns)}")
    tasks, archs = _task_order(runs), _archs(runs)
    fig = NotebookFigure(figsize=(7.0, 2.9), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(tasks), squeeze=False)[0])
    width = 0.8 / len(archs)
    legend: dict[str, Any] = {}
    for ax, task in zip(axes, tasks):
        group = runs[runs["task"] == task]
        n_bits = int(group["n_bits"].iloc[0])
        diverged = np.array([table_flag(v) for v in group["diverged"]], bool)
        counted = np.any([~np.isnan(_numbers(group[c])) for c in columns.values()], axis=0)
        ok = group[~diverged & counted]
        observed = [k for k, c in columns.items() if np.nan_to_num(_numbers(ok[c])).any()]
        ks = np.arange(max([n_bits] + observed) + 1)
        for a, arch in enumerate(archs):
            rows = ok[ok["arch"] == arch].sort_values("seed")
            if rows.empty:
                continue
            counts = np.stack([_numbers(rows[columns[k]]) if k in columns else np.zeros(len(rows))
                               for k in ks], axis=1)
            counts = np.nan_to_num(counts, nan=0.0)
            centre = ks - 0.4 + width * (a + 0.5)
            legend[arch] = ax.bar(centre, counts.mean(axis=0), width * 0.9, color=arch_color(arch), alpha=0.45,
                                  gid=f"bars:{arch}", label=f"{arch}: mean over seeds")
            spread = (np.arange(len(rows)) - (len(rows) - 1) / 2) * (0.7 * width / max(len(rows), 1))
            xs = (centre[None, :] + spread[:, None]).ravel()
            legend[f"seeds:{arch}"], = ax.plot(xs, counts.ravel(), linestyle="none", marker="o", markersize=2.5,
                                               color=arch_color(arch), gid=f"seeds:{arch}",
                                               label=f"{arch}: each run")
        ideal = np.zeros(len(ks))
        ideal[: n_bits + 1] = n_bit_index_counts(n_bits)
        legend["ideal"], = ax.plot(ks, ideal, linestyle="none", marker="_", markersize=14, markeredgewidth=2,
                                   color="black", gid="ideal", label="ideal $C(N,k)\\,2^{N-k}$")
        n_div, n_skip = int(diverged.sum()), int((~diverged & ~counted).sum())
        excluded = [f"{n_div} diverged"] * bool(n_div) + [f"{n_skip} without fixed points"] * bool(n_skip)
        ax.set_title(f"{task}: {len(group)} runs" + (f"\n{' and '.join(excluded)} (excluded)" if excluded else ""))
        ax.set_xticks(ks)
        ax.set_xlabel("index $k$ (unstable directions)")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("fixed points of index $k$")
    order = [key for arch in archs for key in (arch, f"seeds:{arch}") if key in legend] + ["ideal"]
    fig.legend(handles=[legend[k] for k in order], loc="outside lower center", ncol=min(len(order), 4))
    return fig


@paper_style
def plot_training_curves(curves: Sequence[Mapping[str, Any]]) -> Figure:
    """Training loss against epoch (log scale), every seed, one panel per task (column) and arch (row).

    Each curve is a dict with keys task, arch, seed, train_loss (1-D array), converged, diverged.
    Colour = seed (the same in every panel, one legend for the figure); converged: solid line; not
    converged: dashed; diverged: a cross at the last finite loss. Non-finite and non-positive
    losses are not drawn.
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
    seeds = sorted({int(c["seed"]) for c in curves})
    fig = NotebookFigure(figsize=(7.0, 2.1 * len(archs) + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(archs), len(tasks), squeeze=False, sharex=False)
    seed_colors = {seed: f"C{i % 10}" for i, seed in enumerate(seeds)}
    for curve in sorted(curves, key=lambda c: (_natural_key(c["task"]), _natural_key(c["arch"]), int(c["seed"]))):
        ax = axes[archs.index(str(curve["arch"])), tasks.index(str(curve["task"]))]
        loss = np.asarray(curve["train_loss"], np.float64).ravel()
        shown = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        epochs = np.arange(1, len(loss) + 1)
        state = run_status(curve["converged"], curve["diverged"])
        color = seed_colors[int(curve["seed"])]
        ax.plot(epochs, shown, color=color, linewidth=0.8, linestyle="--" if state == "not converged" else "-",
                gid=f"curve:{curve['task']}:{curve['arch']}:{curve['seed']}",
                label=f"seed {curve['seed']}" + ("" if state == "converged" else f" ({state})"))
        if state == "diverged":
            finite = np.flatnonzero(np.isfinite(shown))
            if finite.size:
                ax.plot(epochs[finite[-1]], shown[finite[-1]], marker="X", color=color, markersize=6,
                        gid="diverged")
    for r, arch in enumerate(archs):
        for c, task in enumerate(tasks):
            ax = axes[r, c]
            ax.set_yscale("log")
            ax.set_title(f"{task} {arch}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("training loss (MSE)" if c == 0 else None)
            ax.grid(alpha=0.3, which="major")
            if not ax.lines:
                ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
    handles = [Line2D([], [], color=seed_colors[s], linewidth=1.2, label=f"seed {s}") for s in seeds]
    states = {run_status(c["converged"], c["diverged"]) for c in curves}
    if "not converged" in states:
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="not converged"))
    if "diverged" in states:
        handles.append(Line2D([], [], color="0.3", linestyle="none", marker="X", label="diverged (last finite loss)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6))
    return fig
