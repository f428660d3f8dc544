"""What both runners of the comparison share: the seed tutorial's finder settings, the parameter
names of its tanh RNN, and the digest that proves both sides start from the same data and weights.

Imported by `our_runner.py` (project venv) and `seed_runner.py` (canns venv); only numpy needed.
Also the command-line options both runners take.
"""

import argparse
import hashlib

import numpy as np

PARAM_NAMES = ("w_ih", "w_hh", "b_h", "w_out", "b_out", "h0")
"""The tanh RNN's parameters (the seed's names, as this project's)."""
GRU_PARAM_NAMES = ("w_ir", "w_hr", "w_iz", "w_hz", "w_in", "w_hn", "b_r", "b_z", "b_n", "w_out", "b_out", "h0")
"""The GRU's parameters (the seed's names, as this project's)."""
SEED_FINDER_SETTINGS = dict(method="joint", max_iters=5000, lr_init=0.02, tol_q=1e-4,
                            final_q_threshold=1e-6, tol_unique=1e-2, do_compute_jacobians=True,
                            do_decompose_jacobians=True, outlier_distance_scale=10.0)
SEED_SEARCH_SETTINGS = dict(n_inits=1024, noise_scale=0.4)


def digest(arrays) -> str:
    """sha256 of the float32 bytes of ``arrays`` in order."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, np.float32)).tobytes())
    return h.hexdigest()


def run_parser(description: str) -> argparse.ArgumentParser:
    """The options of one run that both runners take: task size, seed, result file, epoch limit."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n-bits", type=int, required=True, help="FlipFlop bits (inputs and outputs)")
    parser.add_argument("--n-hidden", type=int, required=True, help="hidden units")
    parser.add_argument("--seed", type=int, required=True, help="seed of data, weights and batch order")
    parser.add_argument("--out", required=True, help="result file (.npz)")
    parser.add_argument("--max-epochs", type=int, default=1000, help="training epochs at most")
    parser.add_argument("--rnn-type", choices=("tanh", "gru"), default="tanh", help="the tutorial's two cells")
    parser.add_argument("--learning-rate", type=float, default=0.08, help="Adam step size (the seed's 0.08)")
    parser.add_argument("--recurrent-scale", type=float, default=1.0,
                        help="multiply the initial recurrent weights w_h* by this (1: the tutorial's init)")
    parser.add_argument("--n-inits", type=int, default=SEED_SEARCH_SETTINGS["n_inits"], help="starts of the finder")
    return parser


def param_names(rnn_type: str) -> tuple[str, ...]:
    """The parameter names of the tutorial's ``rnn_type`` cell."""
    return GRU_PARAM_NAMES if rnn_type == "gru" else PARAM_NAMES
