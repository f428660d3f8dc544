"""Trace where every unstable direction of every saddle of one run leads and write its graph.h5.

Each saddle of fixed_points.h5 is left along both signs of each unstable direction and the model's
map is iterated at the fixed points' constant input until the state rests at a fixed point or a
slow point, or the step budget ends (docs/topology.md). A run without fixed points (training
diverged) gives a valid, empty graph.h5 that keeps its skipped_reason.
"""

import argparse

from fixedpoints.cli import exit_script
from fixedpoints.connections import ConnectionSettings
from fixedpoints.settings import add_arguments, from_args, values
from fixedpoints.topology import run_graph, save_graph


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py (required)")
    parser.add_argument("--fixed-points", required=True, help="fixed_points.h5 of the model (required)")
    parser.add_argument("--out", required=True, help="graph.h5 to write (required)")
    add_arguments(parser, ConnectionSettings, exclude=["verbose"])
    parser.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=True,
                        help="progress on stderr (default: %(default)s)")
    args = parser.parse_args(argv)
    settings = from_args(ConnectionSettings, args, verbose=args.verbose)
    save_graph(args.out, run_graph(args.model, args.fixed_points, **values(settings)))


if __name__ == "__main__":
    exit_script(main)
