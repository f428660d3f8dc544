"""Generate the FlipFlop trials of one run and write data.h5 (train, valid and test splits).

The three splits come, in that order, from one generator seeded with --seed, as in the seed tutorial.
"""

import argparse
import sys

from fixedpoints import FlipFlopData, save_data
from fixedpoints.cli import exit_script
from fixedpoints.settings import add_arguments, from_args
from fixedpoints.tasks import DataSettings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-bits", type=int, required=True, help="number of memory channels N (required)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the trial generator (required)")
    parser.add_argument("--out", required=True, help="data.h5 to write (required)")
    add_arguments(parser, DataSettings)
    args = parser.parse_args(argv)
    data = from_args(DataSettings, args)
    generator = FlipFlopData(n_bits=args.n_bits, n_time=data.n_time, p=data.p, random_seed=args.seed)
    splits = {name: generator.generate_data(n) for name, n in
              (("train", data.n_train), ("valid", data.n_valid), ("test", data.n_test))}
    save_data(args.out, splits, n_bits=args.n_bits, n_time=data.n_time, p=data.p, seed=args.seed)
    print(f"wrote {args.out}: {args.n_bits} bits, {data.n_train}/{data.n_valid}/{data.n_test} trials "
          f"of {data.n_time} steps", file=sys.stderr)


if __name__ == "__main__":
    exit_script(main)
