"""The figures of one run from its files: PCA 2-D and 3-D, the readout view, and the run's main figure.

Reads ``model.h5`` and ``fixed_points.h5`` with h5py and numpy only (no JAX, no scikit-learn), so
a plotting job starts in about a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .common import fixed_point_title
from .pca import plot_fixed_points_2d, plot_fixed_points_3d
from .readout import Readout, plot_readout
from .views import DEFAULT_TRIALS

RUN_VIEWS = ("pca_2d", "pca_3d", "readout")
PLOT_RUN_DEFAULTS = {"trials": DEFAULT_TRIALS, "start_time": 0}


def main_view(n_bits: int) -> str:
    """The view of a run's main figure: ``"readout"`` for N ≥ 3 bits, ``"pca_2d"`` below.

    PCA on two (or three) axes cannot keep the 2^N corners of an N ≥ 3 cube apart when the memories
    spread the variance evenly (the 4-bit default: 16 attractors in 6 clumps); the readout view
    places each memory on its own spot, labelled. For N ≤ 2 PCA shows the 4 memories apart and adds
    the state-space geometry, as in Sussillo & Barak (2013).
    """
    return "readout" if int(n_bits) >= 3 else "pca_2d"


def run_title(model_path: str | os.PathLike) -> str:
    """``"{n_bits}-bit {rnn_type} seed {seed}"`` of a run from its ``model.h5`` (no seed when it has none)."""
    from ..io import INPUT_WEIGHT, MODEL_SCHEMA, load_model_arrays, read_attr, read_h5

    rnn_type, arrays = load_model_arrays(model_path)
    with read_h5(model_path, MODEL_SCHEMA) as f:
        seed = read_attr(f, "seed", int) if "seed" in f.attrs else -1
    return f"{arrays[INPUT_WEIGHT[rnn_type]].shape[0]}-bit {rnn_type}" + (f" seed {seed}" if seed >= 0 else "")


def plot_run(model_path: str | os.PathLike, fixed_points_path: str | os.PathLike, *,
             trials: int = PLOT_RUN_DEFAULTS["trials"], start_time: int = PLOT_RUN_DEFAULTS["start_time"],
             title: str | None = None, views: Sequence[str] = RUN_VIEWS + ("main",)) -> dict[str, Figure]:
    """The figures ``views`` (any of ``pca_2d``, ``pca_3d``, ``readout``, ``main``) of one run → {view: figure}.

    ``main`` is the same figure object as the view `main_view` chooses for the task's N. The
    trajectories are the file's ``states/hiddens``, the first ``trials`` of them drawn from time
    ``start_time`` on; slow points come from its ``slow`` group when present; attractors are
    labelled by the bit pattern of the model's readout. The title is ``"{title}: {n_stable} stable /
    {n}"``, ``title`` defaulting to ``"{n_bits}-bit {rnn_type} seed {seed}"`` from the model file. A
    file without fixed points gives figures that say so, with its root attribute ``skipped_reason``.
    """
    from ..fixed_points import FIXED_POINTS_SCHEMA, load_fixed_points
    from ..io import INPUT_WEIGHT, load_model_arrays, read_h5, state_size

    unknown = sorted(set(views) - set(RUN_VIEWS) - {"main"})
    if unknown:
        raise ValueError(f"unknown view(s) {unknown}; expected any of {list(RUN_VIEWS) + ['main']}")
    if int(trials) < 0:
        raise ValueError(f"trials must be >= 0, got {trials}")
    rnn_type, arrays = load_model_arrays(model_path)
    n_bits = arrays[INPUT_WEIGHT[rnn_type]].shape[0]
    if title is None:
        title = run_title(model_path)
    with read_h5(fixed_points_path, FIXED_POINTS_SCHEMA) as f:
        groups = ("unique", "slow") if "slow" in f else ("unique",)
    loaded = load_fixed_points(fixed_points_path, groups=groups)
    fps, hiddens = loaded["unique"], loaded["hiddens"]
    d = state_size(rnn_type, arrays["w_out"].shape[0])
    if fps.n_states != d:
        raise ValueError(f"{fixed_points_path}: state size {fps.n_states} does not match the model "
                         f"{model_path} (state size {d})")
    reason = loaded["attrs"].get("skipped_reason")
    note = f"skipped: {reason.decode() if isinstance(reason, bytes) else reason}" if reason else None
    n_stable = int(np.sum(fps.is_stable)) if fps.n and fps.is_stable is not None else 0
    options = dict(readout=Readout.from_arrays(arrays), slow_points=loaded.get("slow"),
                   plot_batch_idx=range(min(int(trials), hiddens.shape[0])), plot_start_time=int(start_time),
                   title=fixed_point_title(n_stable, fps.n, title), note=note)
    draw = {"pca_2d": plot_fixed_points_2d, "pca_3d": plot_fixed_points_3d, "readout": plot_readout}
    main = main_view(n_bits)
    needed = [v for v in RUN_VIEWS if v in views or (v == main == "pca_2d" and "main" in views)]
    figures = {view: draw[view](fps, hiddens, **options) for view in needed}
    if "main" in views:
        # N ≥ 3: one readout panel (bits 1, 2, the others nested), sized for a column
        figures["main"] = figures[main] if main == "pca_2d" else plot_readout(fps, hiddens, pairs=[(0, 1)], **options)
    return {view: figures[view] for view in views}
