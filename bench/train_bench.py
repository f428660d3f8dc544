"""Training benchmark: wall time of `fixedpoints.train` with the seed's hyperparameters.

Each case is trained ``--repeats`` times. "cold" clears JAX's in-memory compilation caches first,
so it includes tracing and XLA compilation (no persistent cache); "warm" reuses the compiled epoch
loop. Prints one table of medians; the seed tutorial's BrainPy loop needs about 28 s for the
3-bit case on this machine (192 epochs).

    python bench/train_bench.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax

from fixedpoints import FlipFlopData, RNN, train
from fixedpoints.training import make_epoch_chunk

SEED_REFERENCE_S = 28.0
CASES = [  # name, rnn_type, n_bits, n_hidden, max_epochs
    ("3-bit tanh (4 units)", "tanh", 3, 4, 1000),
    ("4-bit tanh (6 units)", "tanh", 4, 6, 1000),
    ("3-bit GRU (128 units), 50 epochs", "gru", 3, 128, 50),
]


def time_training(rnn_type, n_bits, n_hidden, max_epochs, cold):
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=42)
    train_data, valid_data = gen.generate_data(512), gen.generate_data(128)
    if cold:
        make_epoch_chunk.cache_clear()
        jax.clear_caches()
    start = time.perf_counter()
    rnn, history = train(RNN.init(rnn_type, n_bits, n_hidden, n_bits, seed=42), train_data, valid_data,
                         max_epochs=max_epochs, seed=42, verbose=False)
    jax.block_until_ready(rnn.params)
    return time.perf_counter() - start, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'case':36s} {'epochs':>6s} {'cold s':>8s} {'warm s':>8s} {'ms/epoch':>9s} {'vs seed 28 s':>13s}")
    for name, rnn_type, n_bits, n_hidden, max_epochs in CASES:
        cold, warm = [], []
        for _ in range(args.repeats):
            seconds, history = time_training(rnn_type, n_bits, n_hidden, max_epochs, cold=True)
            cold.append(seconds)
            warm.append(time_training(rnn_type, n_bits, n_hidden, max_epochs, cold=False)[0])
        cold_s, warm_s = statistics.median(cold), statistics.median(warm)
        ratio = f"{SEED_REFERENCE_S / cold_s:.1f}x" if name.startswith("3-bit tanh") else ""
        print(f"{name:36s} {history.epochs:6d} {cold_s:8.2f} {warm_s:8.2f} {1e3 * warm_s / history.epochs:9.2f} "
              f"{ratio:>13s}", flush=True)


if __name__ == "__main__":
    main()
