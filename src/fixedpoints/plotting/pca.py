"""Per-run figures on the principal components of the hidden-state trajectories.

PCA is fitted on every finite state x of the trajectories ``state_traj`` [trials, time, d]:
with X the centred states [n, d] and X = U S Vᵀ its SVD, the principal axes are the rows of Vᵀ,
each signed so that its largest-magnitude entry is positive (scikit-learn's ``svd_flip``
convention, so the figures keep their orientation), and component c explains the fraction
s_c² / Σ s² of the variance. Fixed points and everything else are drawn in the projection
z = (x − mean)·Vₖ (see `views` for what is drawn and the artists' gids).

The 3-D view is honest about its third axis: its box has the proportions of the data (one state
unit is as long on every axis), and when PC 3 carries under 1 % of the variance it is dropped and
the figure, drawn in 2-D, says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .common import DPI, NotebookFigure, fixed_point_title, paper_style, plot_message
from .views import (Projection, check_trajectories, draw_view, finite_states, fixed_point_arrays, select_trials,
                    slow_point_states)

MIN_THIRD_AXIS_VARIANCE = 0.01   # PC 3 with a smaller share of the variance is dropped from the 3-D view


def principal_axes(states_nxd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of ``states`` [n, d] by SVD: (mean [d], axes [r, d] (rows, signed as svd_flip), variance ratio [r]).

    r = min(n, d); the axes are sorted by explained variance, and the ratios s² / Σ s² sum to 1.
    """
    states = np.asarray(states_nxd, np.float64)
    mean = states.mean(axis=0)
    _, s, vt = np.linalg.svd(states - mean, full_matrices=False)
    # svd_flip(u_based_decision=False): the largest |entry| of each axis is positive
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    variance = s ** 2
    return mean, vt * signs[:, None], variance / variance.sum()


def pca_projection(states_nxd: np.ndarray, n_components: int) -> tuple[Projection, np.ndarray]:
    """The view on the first ``n_components`` principal axes, and the variance ratio of every axis."""
    mean, axes, ratio = principal_axes(states_nxd)
    matrix = axes[:n_components].T
    labels = tuple(f"PC {c + 1} ({100 * ratio[c]:.1f} % var.)" for c in range(n_components))
    return Projection(matrix, -mean @ matrix, labels), ratio


def _plot_pca(fixed_points, state_traj, n_components: int, *, readout, slow_points, plot_batch_idx,
              plot_start_time, title, mode_length, note, figsize) -> Figure:
    arrays = fixed_point_arrays(fixed_points)
    xstar = arrays["xstar"]
    n = xstar.shape[0]
    traj = check_trajectories(state_traj, xstar.shape[1] if n else None)
    slow = slow_point_states(slow_points, traj.shape[2])
    n_trials, n_time, d = traj.shape
    if title is None:
        title = fixed_point_title(int(arrays["is_stable"].sum()) if n else 0, n)
    suffix = f"\n{note}" if note else ""
    if n_trials == 0 or n_time == 0:
        return plot_message("no hidden-state trajectories to project" + suffix, title, figsize)
    trials = select_trials(n_trials, n_time, plot_batch_idx, plot_start_time)
    if d < n_components:
        why = (f"{n_components}-D PCA skipped: the state has only {d} dimension{'s' * (d != 1)}"
               + (" (the 2-D figure shows both)" if d == 2 else ""))
        return plot_message(why + suffix, title, figsize)
    states = finite_states(traj)
    if states.shape[0] < n_components + 1:
        return plot_message("no finite hidden states to project" + suffix, title, figsize)
    projection, ratio = pca_projection(states, n_components)
    if n_components == 3 and ratio[2] < MIN_THIRD_AXIS_VARIANCE:
        flat, _ = pca_projection(states, 2)
        projection = Projection(flat.matrix, flat.offset, flat.axis_labels,
                                note=f"PC 3 ({100 * ratio[2]:.2f} % var.) dropped: drawn in 2-D")
    dims = projection.n_dims
    fig = NotebookFigure(figsize=figsize, dpi=DPI, layout="constrained")
    ax = fig.add_subplot(projection="3d" if dims == 3 else None)
    view = draw_view(ax, projection, arrays, traj, trials, int(plot_start_time), slow_xstar=slow, readout=readout,
                     requested_mode_length=mode_length, context_nxd=states)
    lines = [text for text in (projection.note, None if n else "no fixed points found", note) if text]
    if lines:
        view.message("\n".join(lines))
    if dims == 3:
        _honest_3d(ax)
    else:
        ax.set_aspect("equal", adjustable="box")
    ax.set_title(title)
    handles, labels, handler_map = view.legend_entries()
    fig.legend(handles, labels, handler_map=handler_map, loc="outside lower center", ncol=2)
    return fig


def _honest_3d(ax) -> None:
    """Equal units on the three axes (box proportional to the data ranges), few ticks, labels clear of them."""
    limits = np.array([ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d()])
    ax.set_box_aspect(np.ptp(limits, axis=1), zoom=0.8)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
        axis.labelpad = 6
    ax.tick_params(pad=1)
    ax.view_init(elev=25, azim=-55)


@paper_style
def plot_fixed_points_2d(fixed_points, state_traj, *, readout=None, slow_points=None,
                         plot_batch_idx: Sequence[int] | None = None, plot_start_time: int = 0,
                         title: str | None = None, mode_length: float | None = None, note: str | None = None,
                         figsize=(3.9, 4.7)) -> Figure:
    """Fixed points on the first two principal components of the trajectories (equal units on both axes).

    Args:
      fixed_points: a `FixedPoints` (or anything with ``xstar`` [n, d], ``is_stable`` [n],
        ``n_unstable`` [n], ``eigval_J_xstar`` [n, d], ``eigvec_J_xstar`` [n, d, d]); None or n = 0
        draws the trajectories and says that there are no fixed points.
      state_traj: hidden states [trials, time, d]; PCA is fitted on all of them.
      readout: a callable states [n, d] → readout y [n, N] (e.g. `Readout`); when given, every
        attractor is labelled with its bit pattern (`views.bit_patterns`).
      slow_points: the finder's slow points (anything with ``xstar`` [s, d]), drawn as small grey
        diamonds; None: none.
      plot_batch_idx: the trials drawn (default: the first 6), one thin light line each.
      plot_start_time: first time step drawn of each trial.
      title: default ``"{n_stable} stable / {n}"``.
      mode_length: half-length ℓ of the unstable-direction segments in state units (default:
        8 % of the largest projected extent of the trajectories).
      note: extra text printed in the lower left corner.
    Stable points: filled black circles; saddles: open circles coloured by index, with one segment
    per unstable direction.
    """
    return _plot_pca(fixed_points, state_traj, 2, readout=readout, slow_points=slow_points,
                     plot_batch_idx=plot_batch_idx, plot_start_time=plot_start_time, title=title,
                     mode_length=mode_length, note=note, figsize=figsize)


@paper_style
def plot_fixed_points_3d(fixed_points, state_traj, *, readout=None, slow_points=None,
                         plot_batch_idx: Sequence[int] | None = None, plot_start_time: int = 0,
                         title: str | None = None, mode_length: float | None = None, note: str | None = None,
                         figsize=(4.6, 5.2)) -> Figure:
    """As `plot_fixed_points_2d`, on the first three principal components (a 3-D axes, equal units).

    When PC 3 explains under 1 % of the variance the figure is drawn on PC 1 and PC 2 and says so;
    a state of fewer than 3 dimensions gives a figure that says why the 3-D view is skipped.
    """
    return _plot_pca(fixed_points, state_traj, 3, readout=readout, slow_points=slow_points,
                     plot_batch_idx=plot_batch_idx, plot_start_time=plot_start_time, title=title,
                     mode_length=mode_length, note=note, figsize=figsize)

