"""Figures: fixed points over PCA views of hidden-state trajectories (`pca`), sweep summaries (`sweep`),
and what they share (`common`: the figure class, colours and reproducible `save_figure`).

Every function builds a `matplotlib.figure.Figure` with the object API (no ``pyplot`` state) and
returns it; the public names of the submodules are importable from here.
"""

from .common import (DPI, INDEX_COLORS, MARGINAL_COLOR, STABLE_COLOR, TRAJECTORY_COLOR, NotebookFigure,
                     fixed_point_title, index_color, plot_message, save_figure)
from .pca import PLOT_RUN_DEFAULTS, plot_fixed_points_2d, plot_fixed_points_3d, plot_run, unstable_directions
from .sweep import (STATUS_STYLE, ideal_index_counts, index_columns, plot_saddle_index_histogram, plot_stable_counts,
                    plot_training_curves, run_status)

__all__ = [
    "DPI", "INDEX_COLORS", "MARGINAL_COLOR", "PLOT_RUN_DEFAULTS", "STABLE_COLOR", "STATUS_STYLE", "TRAJECTORY_COLOR",
    "NotebookFigure", "fixed_point_title", "ideal_index_counts", "index_color", "index_columns", "plot_fixed_points_2d",
    "plot_fixed_points_3d", "plot_message", "plot_run", "plot_saddle_index_histogram", "plot_stable_counts",
    "plot_training_curves", "run_status", "save_figure", "unstable_directions",
]
