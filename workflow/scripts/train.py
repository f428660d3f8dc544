"""Train one RNN on the trials of data.h5 and write model.h5 (parameters and training history)."""

import argparse

from fixedpoints import RNN, load_data, save_model, train
from fixedpoints.cli import exit_script
from fixedpoints.models import RNN_TYPES
from fixedpoints.settings import add_arguments, from_args, values
from fixedpoints.training import TrainingSettings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="data.h5 written by generate_data.py (required)")
    parser.add_argument("--rnn-type", required=True, choices=RNN_TYPES, help="recurrent cell (required)")
    parser.add_argument("--n-hidden", type=int, required=True, help="hidden units (required)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the weights and batch order (required)")
    parser.add_argument("--out", required=True, help="model.h5 to write (required)")
    add_arguments(parser, TrainingSettings)
    args = parser.parse_args(argv)
    from_args(TrainingSettings, args)              # refuse bad settings before reading anything
    splits, attrs = load_data(args.data)
    n_bits = attrs["n_bits"]
    rnn = RNN.init(args.rnn_type, n_inputs=n_bits, n_hidden=args.n_hidden, n_outputs=n_bits, seed=args.seed)
    settings = from_args(TrainingSettings, args)
    rnn, history = train(rnn, splits["train"], splits["valid"], seed=args.seed, **values(settings))
    save_model(rnn, args.out, history=history, seed=args.seed)


if __name__ == "__main__":
    exit_script(main)
