"""Draw the 2D and 3D PCA figures of one run: trajectories, fixed points and unstable directions."""

import argparse
import sys

from fixedpoints.cli import run_script
from fixedpoints.plotting import PLOT_RUN_DEFAULTS, plot_run, save_figure


def main(argv=None):
    d = PLOT_RUN_DEFAULTS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py")
    parser.add_argument("--fixed-points", required=True,
                        help="fixed_points.h5 written by find_fixed_points.py (its states/hiddens are drawn)")
    parser.add_argument("--out-2d", required=True, help="2D PCA figure to write (.png, .pdf or .svg)")
    parser.add_argument("--out-3d", required=True, help="3D PCA figure to write (.png, .pdf or .svg)")
    parser.add_argument("--trials", type=int, default=d["trials"], help="number of trials drawn (the first ones)")
    parser.add_argument("--start-time", type=int, default=d["start_time"], help="first time step drawn")
    parser.add_argument("--title", default=None,
                        help="title before ': S stable / N'; None means '<n_bits>-bit <rnn_type> seed <seed>' "
                             "from the model file")
    args = parser.parse_args(argv)
    fig_2d, fig_3d = plot_run(args.model, args.fixed_points, trials=args.trials, start_time=args.start_time,
                              title=args.title)
    save_figure(fig_2d, args.out_2d)
    save_figure(fig_3d, args.out_3d)


if __name__ == "__main__":
    sys.exit(run_script(main))
