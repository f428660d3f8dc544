"""Drawing a run's state space in a view: trajectories, fixed points, unstable directions, slow points.

A *view* is an affine map of states x [.., d] to the k = 2 or 3 coordinates of an axes,
z = x·A + b (`Projection`, A [d, k]): PCA (`pca`) and the readout (`readout`) are both such maps,
so one drawing code serves both. Every artist is drawn in view coordinates:

* trajectories (context): thin light lines, one per trial, under everything else;
* unstable directions: a segment x* ± ℓ·v through each saddle per unstable eigenvector v (unit
  length in the state; for a complex pair λ, λ̄: Re v and Im v, which span the unstable plane),
  coloured by the saddle's index; its projected length shows how much of v lies in the view; the
  segments of one colour are one line, NaN rows between them (`StateSpaceAxes.paths`);
* fixed points on top: stable ones filled black circles, saddles open circles coloured by their
  index (the number of eigenvalues |λ| > 1 of J = ∂F/∂x at x*), marginal ones grey;
* slow points (the finder's ``slow`` group: slow or not isolated, never counted) small open grey
  diamonds; they do not set the axis limits (a GRU has hundreds far out in its saturated gates),
  and the legend says how many lie outside the view;
* labels: each attractor named by the bit pattern of its readout (`bit_patterns`), centred above
  or below it, away from its nearest neighbours (`label_above`); attractors that fall within 8 % of
  the view's extent of each other share one label, a stack of patterns beside them, towards the
  middle of the view.

The artists carry gids: ``"trajectory"`` (one line per trial), ``"unstable_mode"`` (one line per saddle
index), ``"fixed_points:stable"``,
``"fixed_points:index{k}"``, ``"slow_points"``, ``"pattern"`` (one text per label),
``"message"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

import numpy as np
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy
from mpl_toolkits.mplot3d.art3d import Line3D

from .common import MINUS, SLOW_COLOR, STABLE_COLOR, TRAJECTORY_COLOR, index_color

DEFAULT_TRIALS = 6       # trajectories drawn when no trials are chosen: a few, as context
MODE_FRACTION = 0.08     # the longest unstable-direction segment: this fraction of the view's extent
MERGE_FRACTION = 0.08    # attractors closer than this fraction of the extent share a label
PATTERN_THRESHOLD = 0.5  # |y| below this reads as an undecided bit ("0")
LIMIT_MARGIN = (0.1, 0.12, 0.05)  # room around the data for the labels (x, y, z), as a fraction of its range


@dataclass(frozen=True)
class Projection:
    """The affine view z = x·matrix + offset of states x [.., d] (matrix [d, k], offset [k]).

    ``axis_labels`` name the k view coordinates; ``note`` says what the reader must know about the
    view (e.g. a dropped axis).
    """

    matrix: np.ndarray
    offset: np.ndarray
    axis_labels: tuple[str, ...]
    note: str | None = None

    @property
    def n_dims(self) -> int:
        return int(self.matrix.shape[1])

    def __call__(self, x_nxd) -> np.ndarray:
        """z [n, k] of x [n, d]; NaN passes through (a gap in a line)."""
        return np.asarray(x_nxd, np.float64) @ self.matrix + self.offset


def fixed_point_arrays(fixed_points) -> dict[str, np.ndarray]:
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


def slow_point_states(slow_points, d: int | None) -> np.ndarray:
    """The states [s, d] of a slow-point set (a FixedPoints-like with ``xstar``, or None: none)."""
    if slow_points is None:
        return np.zeros((0, d or 0))
    xstar = np.asarray(slow_points.xstar, np.float64)
    if xstar.ndim != 2 or (d and len(xstar) and xstar.shape[1] != d):
        raise ValueError(f"slow_points.xstar must have shape [n, {d}], got {list(xstar.shape)}")
    return xstar


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


def bit_patterns(y_nxb) -> list[str]:
    """The bit pattern of each readout y [n, N]: ``+`` for y ≥ ½, ``−`` (U+2212) for y ≤ −½, else ``0``.

    The ideal N-bit flip-flop holds its memories at the vertices y ∈ {−1, +1}^N of the cube and its
    saddles at the centres of its faces (the undecided bits 0), so the nearest of −1, 0, +1 names them.
    """
    y = np.asarray(y_nxb, np.float64)
    symbols = np.where(y >= PATTERN_THRESHOLD, "+", np.where(y <= -PATTERN_THRESHOLD, MINUS, "0"))
    return ["".join(row) for row in symbols]


def check_trajectories(state_traj, d: int | None) -> np.ndarray:
    traj = np.asarray(state_traj, np.float64)
    if traj.ndim != 3:
        raise ValueError(f"state_traj must have shape [trials, time, d], got {list(traj.shape)}")
    if d and traj.shape[2] != d:
        raise ValueError(f"state_traj has state size {traj.shape[2]} but fixed_points.xstar has {d}")
    return traj


def select_trials(n_trials: int, n_time: int, plot_batch_idx, plot_start_time: int) -> list[int]:
    """The trials to draw (``plot_batch_idx``, default the first DEFAULT_TRIALS), checked."""
    idx = list(range(min(DEFAULT_TRIALS, n_trials))) if plot_batch_idx is None else [int(i) for i in plot_batch_idx]
    bad = [i for i in idx if not 0 <= i < n_trials]
    if bad:
        raise ValueError(f"plot_batch_idx {bad} out of range for {n_trials} trials")
    if not 0 <= int(plot_start_time) < n_time:
        raise ValueError(f"plot_start_time must be in [0, {n_time}), got {plot_start_time}")
    return idx


def finite_states(traj_bxtxd: np.ndarray) -> np.ndarray:
    """Every finite state [n, d] of the trajectories (rows with a NaN or inf dropped)."""
    states = traj_bxtxd.reshape(-1, traj_bxtxd.shape[2])
    return states[np.all(np.isfinite(states), axis=1)]


def _extent(z_nxk: np.ndarray) -> float:
    z = z_nxk[np.all(np.isfinite(z_nxk), axis=1)]
    return float(np.max(np.ptp(z, axis=0))) if len(z) else 1.0


class StateSpaceAxes:
    """Draws into one 2-D or 3-D axes ``ax`` through ``projection``; collects legend handles."""

    def __init__(self, ax, projection: Projection):
        self.ax, self.projection = ax, projection
        self.drawn: list[np.ndarray] = []
        self.slow = np.zeros((0, projection.n_dims))
        self.legend: dict[str, Any] = {}

    def line(self, points_nxd, **kwargs):
        """Add a line through the projected points (no autoscaling per line: one at the end is faster)."""
        z = self.projection(points_nxd)
        self.drawn.append(z)
        cls = Line3D if self.projection.n_dims == 3 else Line2D
        line = cls(*(z[:, c] for c in range(self.projection.n_dims)), **kwargs)
        self.ax.add_line(line)
        return line

    def paths(self, paths: Sequence[np.ndarray], colors: Sequence[str], **kwargs) -> None:
        """Add each path [n_i, d] in its colour: one line per colour, a NaN row (a gap) between its paths.

        One line of many pieces costs far less to make and draw than as many lines: a view of a 4-bit net
        has 108 unstable directions (N·3^(N−1) for N bits), which as lines of their own took about a
        quarter of the drawing. Where paths of one colour overlap, the overlap is drawn once (under
        ``alpha`` < 1 it is no darker).
        """
        by_color: dict[str, list[np.ndarray]] = {}
        for path, color in zip(paths, colors):
            by_color.setdefault(color, []).append(np.asarray(path, np.float64))
        for color, pieces in by_color.items():
            gap = np.full((1, pieces[0].shape[1]), np.nan)
            self.line(np.concatenate([part for piece in pieces for part in (piece, gap)][:-1]), color=color, **kwargs)

    def trajectories(self, traj_bxtxd: np.ndarray, trials: Sequence[int], start_time: int) -> None:
        for i, trial in enumerate(trials):
            line = self.line(traj_bxtxd[trial, start_time:], color=TRAJECTORY_COLOR, linewidth=0.5, alpha=0.8,
                             gid="trajectory", zorder=1)
            if i == 0:
                line.set_label(f"trajectories ({len(trials)} trials" + (f", t ≥ {start_time})" if start_time else ")"))
                self.legend["trajectory"] = line

    def fixed_points(self, arrays: dict[str, np.ndarray], mode_length: float) -> None:
        """Saddles' unstable directions, then the points, stable ones last (on top)."""
        xstar = arrays["xstar"]
        if not len(xstar):
            return
        stable, n_unstable = arrays["is_stable"], arrays["n_unstable"]
        segments, mode_colors = [], []
        for i in np.flatnonzero(~stable):
            for v in unstable_directions(arrays["eigval_J_xstar"][i], arrays["eigvec_J_xstar"][i], n_unstable[i]):
                segments.append(np.stack([xstar[i] - mode_length * v, xstar[i] + mode_length * v]))
                mode_colors.append(index_color(n_unstable[i]))
        self.paths(segments, mode_colors, linewidth=1.0, gid="unstable_mode", zorder=2)
        groups = [(f"index{k}", ~stable & (n_unstable == k), index_color(k), "none", 5.5)
                  for k in sorted(set(n_unstable[~stable].tolist()), reverse=True)]
        groups.append(("stable", stable, STABLE_COLOR, "full", 6.0))
        for name, mask, color, fill, size in groups:
            if not mask.any():
                continue
            count = int(mask.sum())
            label = (f"stable ({count})" if name == "stable" else
                     f"saddle, index {name[5:]} ({count})" if name != "index0" else f"marginal |λ| = 1 ({count})")
            self.legend[name] = self.line(
                xstar[mask], linestyle="none", marker="o", markersize=size, color=color,
                markeredgecolor=color if name != "stable" else "white", markeredgewidth=1.2 if fill == "none" else 0.6,
                fillstyle=fill, gid=f"fixed_points:{name}", label=label, zorder=4 if name == "stable" else 3)
        if mode_colors:
            colors = list(dict.fromkeys(mode_colors))
            self.legend["unstable_mode"] = tuple(Line2D([], [], color=c, linewidth=1.0, label="unstable directions")
                                                 for c in colors)

    def slow_points(self, xstar_sxd: np.ndarray) -> None:
        """Slow points, drawn without setting the limits (`finish` names those outside the view)."""
        if not len(xstar_sxd):
            return
        line = self.line(xstar_sxd, linestyle="none", marker="D", markersize=3.5, color=SLOW_COLOR,
                         fillstyle="none", markeredgewidth=0.8, gid="slow_points", zorder=3,
                         label=f"slow points ({len(xstar_sxd)})")
        self.slow = self.drawn.pop()
        self.legend["slow"] = line

    def patterns(self, xstar_nxd: np.ndarray, patterns: Sequence[str]) -> None:
        """Label each point with its pattern; points within MERGE_FRACTION of the extent share a label."""
        if not len(xstar_nxd):
            return
        z = self.projection(xstar_nxd)
        merge = MERGE_FRACTION * max(self.extent(), 1e-12)
        groups: list[list[int]] = []
        for i in np.argsort([p.replace(MINUS, "-") for p in patterns], kind="stable"):
            for group in groups:
                if np.linalg.norm(z[group[0]] - z[i]) <= merge:
                    group.append(int(i))
                    break
            else:
                groups.append([int(i)])
        anchors = np.array([z[group].mean(axis=0) for group in groups])
        above = label_above(anchors[:, :2]) if self.projection.n_dims == 2 else np.ones(len(groups), bool)
        centre = np.nanmean(np.concatenate(self.drawn), axis=0)
        for group, anchor, up in zip(groups, anchors, above):
            if len(group) == 1:     # one line: centred above or below the point
                dx, dy, ha, va = 0, 4 if up else -4, "center", "bottom" if up else "top"
            else:                   # a stack of patterns: beside the points, towards the middle of the view
                right = anchor[0] <= centre[0]
                dx, dy, ha, va = 6 if right else -6, 0, "left" if right else "right", "center"
            offset = offset_copy(self.ax.transData, fig=self.ax.figure, x=dx, y=dy, units="points")
            self.ax.text(*anchor, "\n".join(patterns[i] for i in group), transform=offset, fontsize=8,
                         gid="pattern", zorder=5, ha=ha, va=va,
                         bbox=dict(boxstyle="square,pad=0.05", facecolor="white", edgecolor="none", alpha=0.6))

    def extent(self) -> float:
        """The largest extent of what was drawn so far, in view units."""
        return _extent(np.concatenate(self.drawn)) if self.drawn else 1.0

    def message(self, text: str) -> None:
        put = self.ax.text2D if self.projection.n_dims == 3 else self.ax.text
        put(0.02, 0.02, text, transform=self.ax.transAxes, gid="message", fontsize=8)

    def finish(self, z_context_nxk: np.ndarray | None = None) -> None:
        """Scale the axes to what was drawn (slow points aside) with room for the labels; label the axes."""
        z = np.concatenate(self.drawn + ([z_context_nxk] if z_context_nxk is not None else []))
        z = z[np.all(np.isfinite(z), axis=1)]
        low, high = z.min(axis=0), z.max(axis=0)
        margin = np.array(LIMIT_MARGIN[: len(low)]) * np.maximum(high - low, 1e-9)
        low, high = low - margin, high + margin
        ax = self.ax
        if self.projection.n_dims == 3:
            ax.auto_scale_xyz(*zip(low, high), had_data=False)
            setters = (ax.set_xlabel, ax.set_ylabel, ax.set_zlabel)
        else:
            ax.set_xlim(low[0], high[0])
            ax.set_ylim(low[1], high[1])
            setters = (ax.set_xlabel, ax.set_ylabel)
        outside = int(np.sum(np.any((self.slow < low) | (self.slow > high), axis=1)))
        if outside:
            line = self.legend["slow"]
            line.set_label(f"{line.get_label()[:-1]}; {outside} outside)")
        for label, set_label in zip(self.projection.axis_labels, setters):
            set_label(label)

    def legend_entries(self) -> tuple[list, list[str], dict]:
        """Handles, labels and handler map for ``fig.legend`` (a tuple handle: one segment per colour)."""
        order = ["trajectory", "stable"] + sorted((k for k in self.legend if k.startswith("index")),
                                                  key=lambda k: int(k[5:])) + ["unstable_mode", "slow"]
        handles = [self.legend[k] for k in order if k in self.legend]
        labels = [h[0].get_label() if isinstance(h, tuple) else h.get_label() for h in handles]
        return handles, labels, {tuple: HandlerTuple(ndivide=None, pad=0.0)}


def label_above(anchors_gx2: np.ndarray, n_neighbours: int = 3) -> np.ndarray:
    """Whether each label [g] goes above its point (else below): when the point lies above the mean
    of its nearest other anchors. Set away from its neighbours, a label does not cover theirs (in the
    readout view each 2×2 cluster of memories gets its labels on its outside)."""
    anchors = np.asarray(anchors_gx2, np.float64)
    if len(anchors) < 2:
        return np.ones(len(anchors), bool)
    distance = np.linalg.norm(anchors[:, None] - anchors[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, : min(n_neighbours, len(anchors) - 1)]
    return anchors[:, 1] >= anchors[nearest, 1].mean(axis=1)


def mode_length(projection: Projection, z_extent: float, requested: float | None) -> float:
    """ℓ in state units: ``requested``, or ℓ = MODE_FRACTION·extent / ‖A‖₂, so that a unit vector that
    the view stretches most gives a half-segment of MODE_FRACTION of the view's extent."""
    if requested is not None:
        return float(requested)
    norm = float(np.linalg.norm(projection.matrix, 2)) if projection.matrix.size else 0.0
    return MODE_FRACTION * z_extent / norm if norm > 0 else 0.0


def draw_view(ax, projection: Projection, arrays: dict[str, np.ndarray], traj_bxtxd: np.ndarray,
              trials: Sequence[int], start_time: int, *, slow_xstar: np.ndarray, readout=None,
              requested_mode_length: float | None = None, context_nxd: np.ndarray | None = None) -> StateSpaceAxes:
    """Draw a run into ``ax`` through ``projection``: trajectories, fixed points, slow points, labels.

    ``readout`` (a callable states [n, d] → y [n, N], or None) names the attractors by bit pattern.
    ``context_nxd`` (the states the view was fitted on) sets the extent for the segment length and
    the axis limits.
    """
    view = StateSpaceAxes(ax, projection)
    view.trajectories(traj_bxtxd, trials, start_time)
    z_context = projection(context_nxd) if context_nxd is not None and len(context_nxd) else None
    extent = _extent(np.concatenate(view.drawn + ([z_context] if z_context is not None else [])))
    view.fixed_points(arrays, mode_length(projection, extent, requested_mode_length))
    view.slow_points(slow_xstar)
    if readout is not None and len(arrays["xstar"]):
        stable = arrays["xstar"][arrays["is_stable"]]
        view.patterns(stable, bit_patterns(readout(stable)))
    view.finish(z_context)
    return view
