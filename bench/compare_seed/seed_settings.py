"""What both runners of the comparison share: the seed tutorial's finder settings, the parameter
names of its tanh RNN, and the digest that proves both sides start from the same data and weights.

Imported by `our_runner.py` (project venv) and `seed_runner.py` (canns venv); only numpy needed.
Also the command-line options both runners take.
"""

import argparse
import hashlib

import numpy as np

PARAM_NAMES = ("w_ih", "w_hh", "b_h", "w_out", "b_out", "h0")
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
    parser.add_argument("--n-hidden", type=int, required=True, help="tanh units")
    parser.add_argument("--seed", type=int, required=True, help="seed of data, weights and batch order")
    parser.add_argument("--out", required=True, help="result file (.npz)")
    parser.add_argument("--max-epochs", type=int, default=1000, help="training epochs at most")
    return parser
