"""Find the fixed points of a trained RNN at a constant input and write fixed_points.h5.

The starts are sampled from the network's state trajectories on the test trials of data.h5. A
model whose training diverged gives a valid file with zero fixed points and a root attribute
``skipped_reason``, so that a sweep goes on.
"""

import argparse
import sys

import numpy as np

from fixedpoints import FixedPointFinder, load_data, load_history, load_model
from fixedpoints.cli import run_script
from fixedpoints.finder import FINDER_DEFAULTS, SEARCH_DEFAULTS, FINDER_CHOICES, empty_fixed_points

HIDDEN = {"random_seed", "verbose"}   # given as --seed and --verbose/--no-verbose


def add_finder_options(parser: argparse.ArgumentParser) -> None:
    """One option per FixedPointFinder argument, typed and defaulted from the library."""
    for name, default in {**FINDER_DEFAULTS, **SEARCH_DEFAULTS}.items():
        if name in HIDDEN:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help="(default: %(default)s)")
        elif name in FINDER_CHOICES:
            parser.add_argument(flag, choices=FINDER_CHOICES[name], default=default, help="(default: %(default)s)")
        else:
            kind = float if default is None or isinstance(default, float) else type(default)
            parser.add_argument(flag, type=kind, default=default, help="(default: %(default)s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py (required)")
    parser.add_argument("--data", required=True, help="data.h5; its test trials give the trajectories (required)")
    parser.add_argument("--out", required=True, help="fixed_points.h5 to write (required)")
    parser.add_argument("--input", default=None,
                        help="constant input u as comma-separated numbers, one per input (default: zeros)")
    parser.add_argument("--seed", type=int, default=FINDER_DEFAULTS["random_seed"],
                        help="seed for sampling the starts (default: %(default)s)")
    parser.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=FINDER_DEFAULTS["verbose"],
                        help="progress on stderr (default: %(default)s)")
    add_finder_options(parser)
    args = vars(parser.parse_args(argv))
    model_path, data_path, out, input_text = (args.pop(k) for k in ("model", "data", "out", "input"))
    rnn, history = load_model(model_path), load_history(model_path)
    splits, attrs = load_data(data_path)
    if attrs["n_bits"] != rnn.n_inputs:
        raise ValueError(f"{data_path}: n_bits={attrs['n_bits']} but {model_path} has n_inputs={rnn.n_inputs}")
    if input_text is None:
        u = np.zeros((1, rnn.n_inputs))
    else:
        try:
            u = np.array([float(v) for v in input_text.split(",")], ndmin=2)
        except ValueError:
            raise ValueError(f"--input must be comma-separated numbers, got {input_text!r}") from None
        if u.shape[1] != rnn.n_inputs:
            raise ValueError(f"--input has {u.shape[1]} values, the model has {rnn.n_inputs} inputs")
    _, hiddens = rnn(splits["test"]["inputs"])
    search = {k: args.pop(k) for k in SEARCH_DEFAULTS}
    finder = FixedPointFinder(rnn, random_seed=args.pop("seed"), **args)
    extra = {"input": u[0], "model": str(model_path), "data": str(data_path), **search}
    if history is not None and history.diverged:
        print("training diverged: writing an empty fixed-point set", file=sys.stderr)
        empty = empty_fixed_points(rnn.state_size, rnn.n_inputs, finder.tol_unique)
        empty.save(out, hiddens=np.asarray(hiddens), attrs={**finder.hyperparameters(), **extra, "wall_s": 0.0,
                                                            "skipped_reason": "training diverged"})
        return
    unique_fps, all_fps = finder.find_fixed_points(np.asarray(hiddens), u, **search)
    unique_fps.save(out, all_fps=all_fps, hiddens=np.asarray(hiddens), attrs=extra, slow_fps=finder.slow_fps)


if __name__ == "__main__":
    sys.exit(run_script(main))
