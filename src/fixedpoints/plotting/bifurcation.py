"""Per-run bifurcation diagrams: how the fixed points move, meet and vanish as an input pulse grows.

The figure of a `fixedpoints.branches.Continuation` along the directions ±e_k has one panel per
channel k. Its horizontal axis is the input on that channel, u_k = ±s (the branches followed along
+e_k on the right, those along −e_k on the left, both from the u = 0 fixed points at u_k = 0); its
vertical axis is bit k's readout y_k = h @ w_out[:, k] + b_out[k] along each branch. Stretches of a
branch where the fixed point is stable (every |λ| < 1) are solid black lines, saddles dashed lines
coloured by their index (the number of |λ| > 1), the located bifurcations are markers (folds:
diamonds), and the u = 0 fixed points are circles (filled: stable). A pulse flips bit k cleanly when
every solid branch whose y_k has the wrong sign ends in a fold before |u_k| reaches the amplitude.

Gids on the artists name what they show: ``"branch:stable"`` and ``"branch:index{k}"`` (one line per
panel and index, branches separated by NaN), ``"bifurcation:{kind}"`` (kind: fold, flip,
neimark_sacker; one marker line per panel and kind), ``"fixed_points:stable"`` /
``"fixed_points:index{k}"`` (the u = 0 points), ``"message"`` (why nothing is drawn).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .common import DPI, STABLE_COLOR, NotebookFigure, index_color, paper_style, plot_message

BIFURCATION_STYLE = {"fold": dict(marker="D", color="#1f77b4", label="fold (saddle-node)"),
                     "flip": dict(marker="s", color="#2ca02c", label="flip (λ = −1)"),
                     "neimark_sacker": dict(marker="^", color="#9467bd", label="Neimark–Sacker")}
"""Marker, colour and legend label of each kind of bifurcation."""


def _joined(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (x, y) pieces with a NaN between them, so that one line draws them all apart."""
    xs, ys = [], []
    for x, y in pieces:
        xs += [x, [np.nan]]
        ys += [y, [np.nan]]
    return np.concatenate(xs[:-1]), np.concatenate(ys[:-1])


def _stretches(u: np.ndarray, y: np.ndarray, n_unstable: np.ndarray, junctions: dict) -> list:
    """The maximal runs of equal index along one branch as (index, u, y); neighbouring runs share their
    junction point: the bifurcation located between the two points (``junctions``: local index i of the
    point before it → (u, y)), else the midpoint of the two points."""
    change = np.flatnonzero(np.diff(n_unstable) != 0)
    joints = [junctions.get(int(i), (0.5 * (u[i] + u[i + 1]), 0.5 * (y[i] + y[i + 1]))) for i in change]
    bounds = np.concatenate([[0], change + 1, [len(u)]])
    runs = []
    for r, (first, last) in enumerate(zip(bounds[:-1], bounds[1:])):
        head = [joints[r - 1]] if r > 0 else []
        tail = [joints[r]] if r < len(joints) else []
        run_u = np.array([p[0] for p in head] + list(u[first:last]) + [p[0] for p in tail])
        run_y = np.array([p[1] for p in head] + list(y[first:last]) + [p[1] for p in tail])
        runs.append((int(n_unstable[first]), run_u, run_y))
    return runs


def _run_name(cont) -> str:
    """``"{n_bits}-bit {rnn_type} seed {seed}"`` from the root attributes, else ``"continuation"``."""
    attrs = cont.attrs
    if all(key in attrs for key in ("n_bits", "rnn_type", "seed")):
        return f"{attrs['n_bits']}-bit {attrs['rnn_type']} seed {attrs['seed']}"
    return "continuation"


def _default_title(cont) -> str:
    from ..branches import flip_columns

    name = _run_name(cont)
    columns = flip_columns(cont)
    low, high = columns["fold_amplitude_min"], columns["fold_amplitude_max"]
    folds = (f"opposite attractors removed at s = {low:.3g}–{high:.3g}" if math.isfinite(high) else
             f"first removal at s = {low:.3g}, not all removed" if math.isfinite(low) else "removals unknown")
    return f"{name}: {'flips' if columns['flips_cleanly'] else 'does not flip'} cleanly, {folds}"


@paper_style
def plot_bifurcation(cont, *, title: str | None = None, figsize=None) -> Figure:
    """The bifurcation diagram of a continuation along ±e_k: one panel per channel (see the module docstring).

    ``cont``: a `fixedpoints.branches.Continuation` with a readout (``load_continuation(path)``
    of a run's ``continuation.h5``). ``title`` defaults to ``"{n_bits}-bit {rnn_type} seed {seed}"``
    (root attributes of the file) with whether the pulses flip cleanly and the fold amplitudes. A
    continuation without branches gives a figure that says why (its ``skipped_reason`` if any).
    """
    channels = sorted({int(k) for k in cont.channel if k >= 0})
    if cont.n_branches == 0 or not channels:
        reason = cont.attrs.get("skipped_reason")
        message = "no fixed points to follow" if cont.n_branches == 0 else "no direction along an input channel"
        return plot_message(message + (f"\nskipped: {reason}" if reason else ""),
                            title=title or _run_name(cont))
    if cont.readout is None:
        raise ValueError("the continuation has no readout to draw; give continue_fixed_points a readout")
    if max(channels) >= cont.readout.shape[1]:
        raise ValueError(f"channel {max(channels)} has no readout (the readout has {cont.readout.shape[1]} outputs)")
    n_cols = min(len(channels), 2)          # at most 7 in wide: a page's width
    n_rows = math.ceil(len(channels) / n_cols)
    fig = NotebookFigure(figsize=figsize or (3.3 * n_cols + 0.4, 2.7 * n_rows + 1.2), dpi=DPI, layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    legend = {}
    amplitude = cont.amplitude
    bif = cont.bifurcations
    for ax, k in zip(axes, channels):
        lines: dict[int, list] = {}
        for b in np.flatnonzero(cont.channel[cont.branch_direction] == k):
            sign = cont.sign[cont.branch_direction[b]]
            branch = cont.branch(b)
            u, y = sign * branch["s"], branch["readout"][:, k]
            junctions = {int(bif["point"][e] - cont.offsets[b]): (sign * bif["s"][e], bif["readout"][e, k])
                         for e in np.flatnonzero(bif["branch"] == b)}
            for index, run_u, run_y in _stretches(u, y, branch["n_unstable"], junctions):
                lines.setdefault(index, []).append((run_u, run_y))
        for index in sorted(lines):
            stable = index == 0
            label = "stable" if stable else f"saddle, index {index}"
            line, = ax.plot(*_joined(lines[index]), color=STABLE_COLOR if stable else index_color(index),
                            linestyle="-" if stable else "--", linewidth=1.6 if stable else 1.1,
                            gid="branch:stable" if stable else f"branch:index{index}", label=label,
                            zorder=3 if stable else 2)
            legend.setdefault(label, line)
        on_channel = cont.channel[cont.branch_direction[bif["branch"]]] == k
        for kind, style in BIFURCATION_STYLE.items():
            rows = np.flatnonzero(on_channel & (bif["kind"] == kind))
            if len(rows):
                sign = cont.sign[cont.branch_direction[bif["branch"][rows]]]
                line, = ax.plot(sign * bif["s"][rows], bif["readout"][rows, k], linestyle="none",
                                marker=style["marker"], markersize=6, markerfacecolor="white",
                                markeredgecolor=style["color"], markeredgewidth=1.5, gid=f"bifurcation:{kind}",
                                label=style["label"], zorder=4)
                legend.setdefault(style["label"], line)
        stable = cont.start_is_stable
        for name, mask, color, fill in [("stable", stable, STABLE_COLOR, "full")] + [
                (f"index{i}", ~stable & (cont.start_n_unstable == i), index_color(i), "none")
                for i in sorted(set(cont.start_n_unstable[~stable].tolist()))]:
            if mask.any():
                ax.plot(np.zeros(int(mask.sum())), cont.start_readout[mask, k], linestyle="none", marker="o",
                        markersize=5, color=color, fillstyle=fill, markeredgewidth=1.2, gid=f"fixed_points:{name}",
                        zorder=5)
        ax.axvline(0.0, color="0.8", linewidth=0.8, zorder=1)
        ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=1)
        ax.set_xlim(-1.05 * amplitude, 1.05 * amplitude)
        ax.set_xlabel(rf"input $u_{{{k + 1}}} = \pm s$", fontsize=9)      # bits numbered from 1, as in the
        ax.set_ylabel(rf"readout $y_{{{k + 1}}}$", fontsize=9)             # readout view
        ax.set_title(f"pulse on bit {k + 1}", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[len(channels):]:
        ax.set_axis_off()
    handles = [legend[key] for key in sorted(legend, key=_legend_order)]
    handles.append(Line2D([], [], linestyle="none", marker="o", color=STABLE_COLOR, markersize=5,
                          label="fixed point at u = 0"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(title or _default_title(cont), fontsize=10)
    return fig


def _legend_order(label: str):
    """Stable first, then saddles by index, then the bifurcations in the order of BIFURCATION_STYLE."""
    if label == "stable":
        return (0, 0)
    if label.startswith("saddle, index "):
        return (1, int(label.rsplit(" ", 1)[1]))
    return (2, [style["label"] for style in BIFURCATION_STYLE.values()].index(label))
