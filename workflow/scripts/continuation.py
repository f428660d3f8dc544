"""Follow the fixed points of a run as an input pulse grows (±e_k on every channel) and write continuation.h5.

The branches start from the fixed points of fixed_points.h5 (group unique, found at u = 0); the
bifurcations met on the way are located (docs/continuation.md). A run whose fixed-point analysis was
skipped (root attribute skipped_reason, e.g. training diverged) gives a valid file without branches
that carries the same skipped_reason.
"""

import argparse
import sys

import numpy as np

from fixedpoints import load_model
from fixedpoints.cli import exit_script
from fixedpoints.continuation import ContinuationSettings, continue_fixed_points
from fixedpoints.fixed_points import load_fixed_points
from fixedpoints.io import MODEL_SCHEMA, read_attr, read_h5
from fixedpoints.settings import add_arguments, from_args, values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py (required)")
    parser.add_argument("--fixed-points", required=True, help="fixed_points.h5 written by find_fixed_points.py "
                        "at input 0 (required)")
    parser.add_argument("--out", required=True, help="continuation.h5 to write (required)")
    add_arguments(parser, ContinuationSettings)
    args = parser.parse_args(argv)
    settings = from_args(ContinuationSettings, args)
    model_path, fixed_points_path, out = args.model, args.fixed_points, args.out
    rnn = load_model(model_path)
    with read_h5(model_path, MODEL_SCHEMA) as f:
        seed = read_attr(f, "seed", int) if "seed" in f.attrs else -1
    found = load_fixed_points(fixed_points_path, groups=("unique",))
    unique = found["unique"]
    if unique.n_states != rnn.state_size:
        raise ValueError(f"{fixed_points_path}: fixed points of state size {unique.n_states}, but {model_path} has "
                         f"state size {rnn.state_size}")
    if unique.n and not np.allclose(unique.inputs, 0.0):
        raise ValueError(f"{fixed_points_path}: the fixed points were found at a nonzero input; the continuation "
                         "starts from those of input 0")
    attrs = {"model": str(model_path), "fixed_points": str(fixed_points_path), "rnn_type": rnn.rnn_type,
             "n_bits": rnn.n_inputs, "seed": seed}
    if "skipped_reason" in found["attrs"]:
        attrs["skipped_reason"] = str(found["attrs"]["skipped_reason"])
        print(f"fixed points skipped ({attrs['skipped_reason']}): writing a continuation without branches",
              file=sys.stderr)
        unique = unique[:0]
    continue_fixed_points(rnn, unique, **values(settings)).save(out, attrs=attrs)


if __name__ == "__main__":
    exit_script(main)
