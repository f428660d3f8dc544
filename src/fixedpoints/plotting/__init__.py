"""Figures: a run's fixed points over its trajectories in PCA views (`pca`) and on the readout
(`readout`), both drawn by `views`; a run's figures from its files (`run`); sweep summaries
(`sweep`); and what they share (`common`: figure class, paper style, colours, reproducible files).

Every function builds a `matplotlib.figure.Figure` with the object API (no ``pyplot`` state) and
returns it; the public names of the submodules are importable from here.
"""

from .common import (ARCH_COLORS, DPI, FONT_SIZE, INDEX_COLORS, MARGINAL_COLOR, PAPER_STYLE, SLOW_COLOR,
                     STABLE_COLOR, TRAJECTORY_COLOR, NotebookFigure, arch_color, fixed_point_title, index_color,
                     paper_style, plot_message, save_figure, save_figures)
from .pca import pca_projection, plot_fixed_points_2d, plot_fixed_points_3d, principal_axes
from .readout import Readout, nested_axes, plot_readout, readout_pairs
from .run import PLOT_RUN_DEFAULTS, RUN_VIEWS, main_view, plot_run
from .sweep import (STATUS_STYLE, index_columns, plot_saddle_index_histogram, plot_stable_counts,
                    plot_training_curves, run_status)
from .views import Projection, bit_patterns, unstable_directions

__all__ = [
    "ARCH_COLORS", "DPI", "FONT_SIZE", "INDEX_COLORS", "MARGINAL_COLOR", "PAPER_STYLE", "PLOT_RUN_DEFAULTS",
    "RUN_VIEWS", "SLOW_COLOR", "STABLE_COLOR", "STATUS_STYLE", "TRAJECTORY_COLOR", "NotebookFigure", "Projection",
    "Readout", "arch_color", "bit_patterns", "fixed_point_title", "index_color", "index_columns", "main_view",
    "nested_axes", "paper_style", "pca_projection", "plot_fixed_points_2d", "plot_fixed_points_3d", "plot_message",
    "plot_readout", "plot_run", "plot_saddle_index_histogram", "plot_stable_counts", "plot_training_curves",
    "principal_axes", "readout_pairs", "run_status", "save_figure", "save_figures", "unstable_directions",
]
