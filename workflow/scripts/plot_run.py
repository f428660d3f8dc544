"""Draw the figures of one run: PCA 2-D and 3-D, the readout view, the main figure (the view that
keeps the task's 2^N memories apart: PCA 2-D for N <= 2 bits, the readout view above), and, from
graph.h5 and continuation.h5, the saddle-attractor graph and the bifurcation diagram.

Each --out-* option takes one or more files (.png, .pdf or .svg); a figure without an --out option is
not drawn. Needs no JAX or scikit-learn.
"""

import argparse

from fixedpoints.cli import exit_script
from fixedpoints.branches import load_continuation
from fixedpoints.plotting import PLOT_RUN_DEFAULTS, plot_run, save_figures
from fixedpoints.plotting.bifurcation import plot_bifurcation
from fixedpoints.plotting.graph import plot_graph_run
from fixedpoints.plotting.run import run_title


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
    parser.add_argument("--graph", help="graph.h5 written by topology.py (for --out-graph)")
    parser.add_argument("--continuation", help="continuation.h5 written by continuation.py (for --out-bifurcation)")
    parser.add_argument("--out-graph", nargs="+", default=[], metavar="FILE", help="file(s) of the graph figure")
    parser.add_argument("--out-bifurcation", nargs="+", default=[], metavar="FILE",
                        help="file(s) of the bifurcation figure")
    parser.add_argument("--trials", type=int, default=d["trials"], help="number of trials drawn (the first ones)")
    parser.add_argument("--start-time", type=int, default=d["start_time"], help="first time step drawn")
    parser.add_argument("--title", default=None,
                        help="title before ': S stable / N'; None means '<n_bits>-bit <rnn_type> seed <seed>' "
                             "from the model file")
    args = parser.parse_args(argv)
    paths = {view: getattr(args, flag[2:].replace("-", "_")) for view, flag in outputs.items()}
    for flag, source in (("--out-graph", "--graph"), ("--out-bifurcation", "--continuation")):
        if getattr(args, flag[2:].replace("-", "_")) and not getattr(args, source[2:]):
            parser.error(f"{flag} needs {source}")
    if not any(paths.values()) and not args.out_graph and not args.out_bifurcation:
        parser.error(f"give at least one of {', '.join(outputs.values())}, --out-graph, --out-bifurcation")
    title = args.title or run_title(args.model)
    views = [view for view, files in paths.items() if files]
    figures = plot_run(args.model, args.fixed_points, trials=args.trials, start_time=args.start_time,
                       title=title, views=views) if views else {}
    by_figure = {}      # the main figure is one of the views: draw it once per format
    for view, figure in figures.items():
        by_figure.setdefault(id(figure), (figure, []))[1].extend(paths[view])
    for figure, files in by_figure.values():
        save_figures(figure, files)
    if args.out_graph:
        save_figures(plot_graph_run(args.graph, args.fixed_points, args.model, trials=args.trials,
                                                title=title), args.out_graph)
    if args.out_bifurcation:
        save_figures(plot_bifurcation(load_continuation(args.continuation)), args.out_bifurcation)


if __name__ == "__main__":
    exit_script(main)
