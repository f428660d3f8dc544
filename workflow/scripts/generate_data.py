"""Generate the FlipFlop trials of one run and write data.h5 (train, valid and test splits).

The three splits come, in that order, from one generator seeded with --seed, as in the seed tutorial.
"""

import argparse
import sys

from fixedpoints import FlipFlopData, save_data
from fixedpoints.cli import run_script
from fixedpoints.tasks import DATA_DEFAULTS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-bits", type=int, required=True, help="number of memory channels N (required)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the trial generator (required)")
    parser.add_argument("--out", required=True, help="data.h5 to write (required)")
    for option, help_text in (("n-time", "time steps per trial"), ("p", "pulse probability per step and channel"),
                              ("n-train", "training trials"), ("n-valid", "validation trials"),
                              ("n-test", "test trials")):
        default = DATA_DEFAULTS[option.replace("-", "_")]
        parser.add_argument(f"--{option}", type=type(default), default=default,
                            help=f"{help_text} (default: %(default)s)")
    args = parser.parse_args(argv)
    generator = FlipFlopData(n_bits=args.n_bits, n_time=args.n_time, p=args.p, random_seed=args.seed)
    splits = {name: generator.generate_data(n) for name, n in
              (("train", args.n_train), ("valid", args.n_valid), ("test", args.n_test))}
    save_data(args.out, splits, n_bits=args.n_bits, n_time=args.n_time, p=args.p, seed=args.seed)
    print(f"wrote {args.out}: {args.n_bits} bits, {args.n_train}/{args.n_valid}/{args.n_test} trials "
          f"of {args.n_time} steps", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_script(main))
