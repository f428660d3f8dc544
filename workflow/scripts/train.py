"""Train one RNN on the trials of data.h5 and write model.h5 (parameters and training history)."""

import argparse
import sys

from fixedpoints import RNN, load_data, save_model, train
from fixedpoints.cli import run_script
from fixedpoints.models import RNN_TYPES
from fixedpoints.training import TRAINING_DEFAULTS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="data.h5 written by generate_data.py (required)")
    parser.add_argument("--rnn-type", required=True, choices=RNN_TYPES, help="recurrent cell (required)")
    parser.add_argument("--n-hidden", type=int, required=True, help="hidden units (required)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the weights and batch order (required)")
    parser.add_argument("--out", required=True, help="model.h5 to write (required)")
    for option, help_text in (("learning-rate", "Adam step size"), ("batch-size", "trials per mini-batch"),
                              ("max-epochs", "stop after this many epochs"),
                              ("min-loss", "loss target: stop once an epoch's loss is below it"),
                              ("clip-norm", "clip gradients to this global norm (0: off)"),
                              ("eval-every", "epochs between validation losses and progress lines")):
        default = TRAINING_DEFAULTS[option.replace("-", "_")]
        parser.add_argument(f"--{option}", type=type(default), default=default,
                            help=f"{help_text} (default: %(default)s)")
    args = parser.parse_args(argv)
    splits, attrs = load_data(args.data)
    n_bits = attrs["n_bits"]
    rnn = RNN.init(args.rnn_type, n_inputs=n_bits, n_hidden=args.n_hidden, n_outputs=n_bits, seed=args.seed)
    rnn, history = train(rnn, splits["train"], splits["valid"], learning_rate=args.learning_rate,
                         batch_size=args.batch_size, max_epochs=args.max_epochs, min_loss=args.min_loss,
                         eval_every=args.eval_every, clip_norm=args.clip_norm, seed=args.seed)
    save_model(rnn, args.out, history=history, seed=args.seed)


if __name__ == "__main__":
    sys.exit(run_script(main))
