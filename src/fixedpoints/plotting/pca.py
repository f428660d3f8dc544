"""Per-run figures: fixed points and their unstable directions over PCA views of the trajectories.

PCA (scikit-learn) is fitted on every finite state of the trajectories ``state_traj`` [trials,
time, d]; fixed points x* [n, d] and their unstable modes are drawn in the same projection
z = (x − mean) Vᵀ, with V the leading principal axes. A fixed point is *stable* when every
eigenvalue of its recurrent Jacobian J = ∂F/∂x (x*) has |λ| < 1; otherwise its *index* is the
number of eigenvalues with |λ| > 1 (a saddle of index k has k unstable directions). Each unstable
direction is drawn as a segment x* ± ℓ·v through the fixed point, with v the unit eigenvector (for
a complex pair λ, λ̄: Re v for λ and Im v for λ̄, which span the unstable plane).

The artists carry gids that name what they show: ``"trajectory"`` (one line per trial),
``"fixed_points:stable"``, ``"fixed_points:index{k}"`` (markers), ``"unstable_mode"`` (one line
per unstable direction), ``"message"`` (text of a figure that explains why nothing is drawn).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Line3D

from .common import (DPI, STABLE_COLOR, TRAJECTORY_COLOR, NotebookFigure, fixed_point_title,
                     index_color, plot_message)

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
    from ..fixed_points import load_fixed_points
    from ..io import MODEL_SCHEMA, load_model, read_attr, read_h5

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
