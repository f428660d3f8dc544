"""Per-run figure on the task's own axes: states projected on the network's readout.

The readout y = h·w_out + b_out (h the first n_hidden entries of the state; for the LSTM the state
is concat(h, c)) maps every state to the N outputs of the N-bit flip-flop, where the 2^N memories
sit at the corners y ∈ {−1, +1}^N of a cube and the saddles at the centres of its faces.

One 2-D panel per pair of bits (i, j) (`readout_pairs`: three panels for N ≥ 3): a plain
pair of outputs would stack the 2^(N−2) memories that differ only in the other bits on one corner,
so the other bits are *nested* into the panel at a smaller scale s (`NEST_SCALE`): with the other
bits paired as (k, l), (m, n), …, x = y_i + s·y_k + s²·y_m + … and y = y_j + s·y_l + s²·y_n + …,
and a last unpaired bit added to both axes (for N = 3 this is the oblique drawing of the 3-D cube).
Every corner of the cube then lands on its own spot (for s < ½), the axis labels give the exact
linear map, and the ideal cube's edges are drawn faintly behind (gid ``"cube"``). The view is linear
in the state, so it is drawn by `views.draw_view` like the PCA views.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .common import DPI, NotebookFigure, fixed_point_title, paper_style, plot_message
from .views import (Projection, check_trajectories, draw_view, finite_states, fixed_point_arrays, select_trials,
                    slow_point_states)

NEST_SCALE = 0.35
CUBE_COLOR = "#d9d9d9"


@dataclass(frozen=True)
class Readout:
    """The readout y = h·w_out + b_out of a network, h = the first n_hidden entries of a state.

    ``w_out`` [n_hidden, N], ``b_out`` [N]; calling it maps states [..., d ≥ n_hidden] to y [..., N].
    """

    w_out: np.ndarray
    b_out: np.ndarray

    def __post_init__(self):
        w, b = np.asarray(self.w_out, np.float64), np.asarray(self.b_out, np.float64)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"readout: w_out must have shape [n_hidden, N] and b_out [N], got "
                             f"{list(w.shape)} and {list(b.shape)}")
        object.__setattr__(self, "w_out", w)
        object.__setattr__(self, "b_out", b)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Readout:
        """From a network's parameter arrays (``w_out``, ``b_out``), e.g. `io.load_model_arrays`."""
        return cls(arrays["w_out"], arrays["b_out"])

    @property
    def n_hidden(self) -> int:
        return int(self.w_out.shape[0])

    @property
    def n_bits(self) -> int:
        return int(self.w_out.shape[1])

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, np.float64)
        return x[..., : self.n_hidden] @ self.w_out + self.b_out

    def projection(self, d: int, outputs_nxk: np.ndarray, axis_labels: tuple[str, ...]) -> Projection:
        """The view z = y·M of states of size ``d`` (M = ``outputs_nxk`` [N, k]) as a `Projection`."""
        if d < self.n_hidden:
            raise ValueError(f"readout has n_hidden={self.n_hidden} but the states have only {d} entries")
        matrix = np.zeros((d, outputs_nxk.shape[1]))
        matrix[: self.n_hidden] = self.w_out @ outputs_nxk
        return Projection(matrix, self.b_out @ outputs_nxk, axis_labels)


def readout_pairs(n_bits: int) -> list[tuple[int, int]]:
    """The pairs of bits (0-based) with a panel: all three for N = 3, else (0, 1), (0, 2), (0, 3).

    For N = 4 the three panels are the three ways to split the bits into two pairs, so every pair
    of bits is either the panel's axes or its nested pair.
    """
    if n_bits < 2:
        return []
    if n_bits == 3:
        return list(itertools.combinations(range(n_bits), 2))
    return [(0, j) for j in range(1, min(n_bits, 4))]


def nested_axes(n_bits: int, pair: tuple[int, int], scale: float = NEST_SCALE) -> np.ndarray:
    """M [N, 2] of the panel of ``pair``: the pair on the axes, the other bits nested at scale s, s², …"""
    i, j = pair
    matrix = np.zeros((n_bits, 2))
    matrix[i, 0] = matrix[j, 1] = 1.0
    rest = [k for k in range(n_bits) if k not in pair]
    for level, start in enumerate(range(0, len(rest), 2), start=1):
        group = rest[start: start + 2]
        if len(group) == 2:
            matrix[group[0], 0] = matrix[group[1], 1] = scale ** level
        else:
            matrix[group[0], :] = scale ** level
    return matrix


def axis_label(column_n: np.ndarray) -> str:
    """Mathtext of one view axis, e.g. ``$y_1 + 0.35\\,y_3$`` (bits numbered from 1, largest weight first)."""
    terms = []
    for k in sorted(np.flatnonzero(column_n), key=lambda k: -column_n[k]):
        c = float(column_n[k])
        terms.append(f"y_{{{k + 1}}}" if c == 1 else f"{c:.3g}\\,y_{{{k + 1}}}")
    return "$" + " + ".join(terms) + "$"


def _draw_cube(ax, outputs_nxk: np.ndarray) -> None:
    """The edges of the ideal cube {−1, +1}^N (vertices differing in one bit), projected by M."""
    n_bits = outputs_nxk.shape[0]
    vertices = np.array(list(itertools.product([-1.0, 1.0], repeat=n_bits)))
    z = vertices @ outputs_nxk
    segments = []
    for a, b in itertools.combinations(range(len(vertices)), 2):
        if np.sum(vertices[a] != vertices[b]) == 1:
            segments += [z[a], z[b], [np.nan, np.nan]]
    segments = np.array(segments)
    ax.add_line(Line2D(segments[:, 0], segments[:, 1], color=CUBE_COLOR, linewidth=0.6, zorder=0, gid="cube"))


@paper_style
def plot_readout(fixed_points, state_traj, readout: Readout, *, slow_points=None,
                 plot_batch_idx: Sequence[int] | None = None, plot_start_time: int = 0, title: str | None = None,
                 mode_length: float | None = None, note: str | None = None, nest_scale: float = NEST_SCALE,
                 pairs: Sequence[tuple[int, int]] | None = None) -> Figure:
    """Fixed points, slow points and trajectories on the readout, one panel per pair of bits.

    Arguments as `plot_fixed_points_2d` (``readout`` required: a `Readout`); ``nest_scale`` s < ½ is
    the scale of the nested bits; ``pairs`` the pairs of bits (0-based) with a panel, default
    `readout_pairs`. Every attractor is labelled with its bit pattern in every panel; the figure
    title is ``title`` and each panel's title names its pair of bits.
    """
    arrays = fixed_point_arrays(fixed_points)
    xstar = arrays["xstar"]
    n = xstar.shape[0]
    traj = check_trajectories(state_traj, xstar.shape[1] if n else None)
    slow = slow_point_states(slow_points, traj.shape[2])
    if not 0 < nest_scale < 0.5:
        raise ValueError(f"nest_scale must be in (0, 0.5) so that the cube's corners stay apart, got {nest_scale}")
    if title is None:
        title = fixed_point_title(int(arrays["is_stable"].sum()) if n else 0, n)
    suffix = f"\n{note}" if note else ""
    n_trials, n_time, d = traj.shape
    pairs = readout_pairs(readout.n_bits) if pairs is None else [tuple(int(b) for b in pair) for pair in pairs]
    bad = [pair for pair in pairs if len(pair) != 2 or pair[0] == pair[1]
           or not all(0 <= b < readout.n_bits for b in pair)]
    if bad:
        raise ValueError(f"pairs {bad} are not pairs of distinct bits in [0, {readout.n_bits})")
    if not pairs:
        return plot_message(f"readout view skipped: it needs at least 2 outputs, the network has {readout.n_bits}"
                            + suffix, title)
    if n_trials == 0 or n_time == 0:
        return plot_message("no hidden-state trajectories to project" + suffix, title)
    trials = select_trials(n_trials, n_time, plot_batch_idx, plot_start_time)
    states = finite_states(traj)
    if not len(states):
        return plot_message("no finite hidden states to project" + suffix, title)
    # one panel: a column wide; more: two columns, the legend in the first free cell
    ncols = 1 if len(pairs) == 1 else 2
    nrows = math.ceil((len(pairs) + (ncols > 1)) / ncols)
    figsize = (3.9, 4.7) if ncols == 1 else (7.0, 3.4 * nrows)
    fig = NotebookFigure(figsize=figsize, dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    views = []
    for ax, pair in zip(axes, pairs):
        outputs = nested_axes(readout.n_bits, pair, nest_scale)
        projection = readout.projection(d, outputs, tuple(axis_label(outputs[:, c]) for c in range(2)))
        _draw_cube(ax, outputs)
        views.append(draw_view(ax, projection, arrays, traj, trials, int(plot_start_time), slow_xstar=slow,
                               readout=readout, requested_mode_length=mode_length, context_nxd=states))
        ax.set_aspect("equal", adjustable="box")
        nested = [k + 1 for k in range(readout.n_bits) if k not in pair]
        ax.set_title(f"bits {pair[0] + 1}, {pair[1] + 1}" + (f" ({', '.join(map(str, nested))} nested)"
                                                              if nested else ""), fontsize=8)
    for ax in axes[len(pairs):]:
        ax.set_axis_off()
    lines = [text for text in (None if n else "no fixed points found", note) if text]
    if lines:
        views[0].message("\n".join(lines))
    fig.suptitle(title)
    handles, labels, handler_map = views[0].legend_entries()
    if ncols == 1:
        fig.legend(handles, labels, handler_map=handler_map, loc="outside lower center", ncol=2)
    else:
        axes[len(pairs)].legend(handles, labels, handler_map=handler_map, loc="center")
    return fig
