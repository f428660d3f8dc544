"""Trace where every unstable direction of every saddle of one run leads and write its graph.h5.

Each saddle of fixed_points.h5 is left along both signs of each unstable direction and the model's
map is iterated at the fixed points' constant input until the state rests at a fixed point or a
slow point, or the step budget ends (docs/topology.md). A run without fixed points (training
diverged) gives a valid, empty graph.h5 that keeps its skipped_reason.
"""

import argparse
import sys

from fixedpoints.cli import run_script
from fixedpoints.connections import CONNECTION_DEFAULTS
from fixedpoints.topology import run_graph, save_graph

HELP = {"step_size": "distance of the first point of a branch from its saddle",
        "max_steps": "map applications at most per branch (then: no end)",
        "tol_near": "distance at which a branch is near a fixed point or slow candidate",
        "tol_speed": "a branch stops where ||F(x) - x|| is below this",
        "max_path_points": "points kept of each branch's path (decimated)",
        "chunk_steps": "steps between progress lines"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py (required)")
    parser.add_argument("--fixed-points", required=True, help="fixed_points.h5 of the model (required)")
    parser.add_argument("--out", required=True, help="graph.h5 to write (required)")
    for name, text in HELP.items():
        default = CONNECTION_DEFAULTS[name]
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                            help=f"{text} (default: %(default)s)")
    parser.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=True,
                        help="progress on stderr (default: %(default)s)")
    args = vars(parser.parse_args(argv))
    model, fixed_points, out = (args.pop(key) for key in ("model", "fixed_points", "out"))
    save_graph(out, run_graph(model, fixed_points, **args))


if __name__ == "__main__":
    sys.exit(run_script(main))
