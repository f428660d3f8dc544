"""Figures across the runs of a sweep: fixed-point counts, saddle indices and training curves.

The artists carry gids: ``"runs:{arch}:{status}"`` and ``"expected"`` (counts),
``"bars:{arch}"`` and ``"ideal"`` (saddle indices), ``"curve:{task}:{arch}:{seed}"`` (training).
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .common import DPI, NotebookFigure

STATUS_STYLE = {   # run status -> marker style in the aggregate figures
    "converged": {"marker": "o", "fillstyle": "full"},
    "not converged": {"marker": "s", "fillstyle": "none"},
    "diverged": {"marker": "X", "fillstyle": "full"},
}
RUN_COLUMNS = ("task", "arch", "seed", "n_bits", "converged", "diverged", "n_fixed_points", "n_stable",
               "expected_stable", "expected_total")


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
