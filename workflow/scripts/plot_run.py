"""Draw the figures of one run: PCA 2-D and 3-D, the readout view, and the main figure (the view that
keeps the task's 2^N memories apart: PCA 2-D for N <= 2 bits, the readout view above).

Each --out-* option takes one or more files (.png, .pdf or .svg); a view without an --out option is
not drawn. Needs no JAX or scikit-learn.
"""

import argparse
import sys

from fixedpoints.cli import run_script
from fixedpoints.plotting import PLOT_RUN_DEFAULTS, plot_run, save_figures


def main(argv=None):
    d = PLOT_RUN_DEFAULTS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py")
    parser.add_argument("--fixed-points", required=True,
                        help="fixed_points.h5 written by find_fixed_points.py (its states/hiddens are drawn)")
    outputs = {"pca_2d": "--out-2d", "pca_3d": "--out-3d", "readout": "--out-readout", "main": "--out-main"}
    for view, flag in outputs.items():
        parser.add_argument(flag, nargs="+", default=[], metavar="FILE",
                            help=f"file(s) of the {view.replace('_', ' ')} figure")
    parser.add_argument("--trials", type=int, default=d["trials"], help="number of trials drawn (the first ones)")
    parser.add_argument("--start-time", type=int, default=d["start_time"], help="first time step drawn")
    parser.add_argument("--title", default=None,
                        help="title before ': S stable / N'; None means '<n_bits>-bit <rnn_type> seed <seed>' "
                             "from the model file")
    args = parser.parse_args(argv)
    paths = {view: getattr(args, flag[2:].replace("-", "_")) for view, flag in outputs.items()}
    if not any(paths.values()):
        parser.error(f"give at least one of {', '.join(outputs.values())}")
    figures = plot_run(args.model, args.fixed_points, trials=args.trials, start_time=args.start_time,
                       title=args.title, views=[view for view, files in paths.items() if files])
    by_figure = {}      # the main figure is one of the views: draw it once per format
    for view, figure in figures.items():
        by_figure.setdefault(id(figure), (figure, []))[1].extend(paths[view])
    for figure, files in by_figure.values():
        save_figures(figure, files)


if __name__ == "__main__":
    sys.exit(run_script(main))
