"""Find the fixed points and slow points of a trained RNN at a constant input, take the census of its
memories, certify that the fixed points are all there are, and write fixed_points.h5.

The starts are sampled from the network's state trajectories on the test trials of data.h5; the memory
census runs the network on from those trials' states with zero input (group ``memories``); the interval
certificate (group ``certificate``, where --certify says so) proves where every fixed point is and is
compared with the finder's. A model whose training diverged gives a valid file with zero fixed points,
no census and a root attribute ``skipped_reason``, so that a sweep goes on.
"""

import argparse
import sys

import numpy as np

from fixedpoints import FixedPointFinder, FixedPoints, load_data, load_history, load_model
from fixedpoints.cli import exit_script
from fixedpoints.certification import (CERTIFICATE_GROUP, CertificationSettings, certify, cross_check,
                                       save_certificate, save_cross_check)
from fixedpoints.finder import FinderSettings, SearchSettings
from fixedpoints.memory import CensusSettings, memory_census, save_memories
from fixedpoints.settings import add_arguments, from_args, values

GIVEN_APART = {"random_seed"}   # the run's seed, given as --seed


def parse_input(text: str | None, n_inputs: int) -> np.ndarray:
    """The constant input u [1, m] from ``--input`` ("0.5,0,0"; None: zeros)."""
    if text is None:
        return np.zeros((1, n_inputs))
    try:
        u = np.array([float(v) for v in text.split(",")], ndmin=2)
    except ValueError:
        raise ValueError(f"--input must be comma-separated numbers, got {text!r}") from None
    if u.shape[1] != n_inputs:
        raise ValueError(f"--input has {u.shape[1]} values, the model has {n_inputs} inputs")
    return u


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model.h5 written by train.py (required)")
    parser.add_argument("--data", required=True, help="data.h5; its test trials give the trajectories (required)")
    parser.add_argument("--out", required=True, help="fixed_points.h5 to write (required)")
    parser.add_argument("--input", default=None,
                        help="constant input u as comma-separated numbers, one per input (default: zeros)")
    parser.add_argument("--seed", type=int, default=FinderSettings.random_seed,
                        help="seed for sampling the starts (default: %(default)s)")
    add_arguments(parser, FinderSettings, exclude=GIVEN_APART)
    add_arguments(parser, SearchSettings)
    add_arguments(parser, CensusSettings, exclude=["dtype"])
    add_arguments(parser, CertificationSettings)
    args = parser.parse_args(argv)
    settings = from_args(FinderSettings, args, random_seed=args.seed)
    search = values(from_args(SearchSettings, args))
    census_settings = from_args(CensusSettings, args, dtype=settings.dtype)
    certification = from_args(CertificationSettings, args)
    rnn, history = load_model(args.model), load_history(args.model)
    splits, attrs = load_data(args.data)
    if attrs["n_bits"] != rnn.n_inputs:
        raise ValueError(f"{args.data}: n_bits={attrs['n_bits']} but {args.model} has n_inputs={rnn.n_inputs}")
    u = parse_input(args.input, rnn.n_inputs)
    finder = FixedPointFinder(rnn, **values(settings))
    _, hiddens = rnn(splits["test"]["inputs"])
    hiddens = np.asarray(hiddens)
    extra = {"input": u[0], "model": str(args.model), "data": str(args.data), **search}
    if history is not None and history.diverged:
        print("training diverged: writing an empty fixed-point set", file=sys.stderr)
        empty = FixedPoints.empty(rnn.state_size, rnn.n_inputs, finder.tol_unique)
        empty.save(args.out, hiddens=hiddens, attrs={**finder.hyperparameters(), **extra, "wall_s": 0.0,
                                                     "skipped_reason": "training diverged"})
        return
    unique_fps, all_fps = finder.find_fixed_points(hiddens, u, **search)
    slow = finder.result.slow_points
    census = memory_census(rnn, splits["test"]["inputs"], splits["test"]["targets"], unique_fps, slow,
                           **values(census_settings))
    print(census.summary_line(), file=sys.stderr)
    groups = {"memories": lambda group: save_memories(group, census)}
    if certification.applies(rnn.rnn_type, rnn.n_hidden):
        cert = certify(rnn, u=u, max_boxes=certification.certify_max_boxes, verbose=True)
        check = cross_check(cert, finder.equation.reduce(unique_fps.xstar))
        print(certificate_line(cert, check), file=sys.stderr)
        groups[CERTIFICATE_GROUP] = lambda group: (save_certificate(group, cert), save_cross_check(group, check))
    unique_fps.save(args.out, all_fps=all_fps, hiddens=hiddens, attrs=extra, slow_fps=slow, extra_groups=groups)


def certificate_line(cert, check) -> str:
    """One log line: what the certificate proved, and whether the finder found exactly that."""
    proved = (f"certified: exactly {cert.n_roots} fixed points ({cert.n_boxes} boxes, {cert.wall_s:.2f} s)"
              if cert.certified else f"not certified: {cert.n_undecided} boxes undecided after {cert.n_boxes}")
    if check.agree:
        return f"{proved}; the finder found each of them"
    return (f"{proved}; ERROR of the finder: {len(check.missed_roots)} proved roots missed, "
            f"{len(check.unmatched_points)} points that are not fixed points")


if __name__ == "__main__":
    exit_script(main)
