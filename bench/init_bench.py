"""Benchmark of a cold start of training: `RNN.init` (the seed-exact weight draws, compiled) and the whole
`train.py` job, each in a fresh process with no compilation cache, this revision beside a past one.

Cases: 3-bit FlipFlop with the default sweep's tanh net (4 units) and 8-unit GRU and LSTM nets, seed 1.
"init" is `RNN.init` timed inside the process (tracing, compiling and running the initialisation); "job"
is the wall time of `workflow/scripts/train.py` on the same data.h5, process start and imports included.
The two revisions alternate, ``--repeats`` times; the table gives medians and the ratio baseline / this.

    python bench/init_bench.py --baseline 72a3bf4 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from baseline import ROOT, baseline_tree  # noqa: E402

CASES = [("tanh", 4), ("gru", 8), ("lstm", 8)]
TIME_INIT = ("import sys, time, jax; from fixedpoints import RNN; t = time.perf_counter(); "
             "jax.block_until_ready(RNN.init(sys.argv[1], 3, int(sys.argv[2]), 3, seed=1).params); "
             "print(time.perf_counter() - t)")


def child_env(tree: Path) -> dict:
    """The jobs' environment (one XLA thread, no compilation cache), importing ``tree``'s fixedpoints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JAX_COMPILATION_CACHE")}
    env.update(PYTHONPATH=str(tree / "src"), XLA_FLAGS="--xla_cpu_multi_thread_eigen=false", JAX_PLATFORMS="cpu")
    return env


def time_init(tree: Path, rnn_type: str, n_hidden: int) -> float:
    out = subprocess.run([sys.executable, "-c", TIME_INIT, rnn_type, str(n_hidden)], env=child_env(tree),
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def time_job(tree: Path, data: Path, out: Path, rnn_type: str, n_hidden: int) -> float:
    command = [sys.executable, str(tree / "workflow" / "scripts" / "train.py"), "--data", str(data), "--rnn-type",
               rnn_type, "--n-hidden", str(n_hidden), "--seed", "1", "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, env=child_env(tree), capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {"this": ROOT, "baseline": baseline_tree(args.baseline, folder)}
        data = folder / "data.h5"
        subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / "generate_data.py"), "--n-bits", "3",
                        "--seed", "1", "--out", str(data)], env=child_env(ROOT), capture_output=True, check=True)
        times: dict = {}
        for repeat in range(args.repeats):
            for rnn_type, n_hidden in CASES:
                for side, tree in (trees.items() if repeat % 2 == 0 else reversed(trees.items())):
                    times.setdefault((rnn_type, side, "init"), []).append(time_init(tree, rnn_type, n_hidden))
                    times.setdefault((rnn_type, side, "job"), []).append(
                        time_job(tree, data, folder / f"{side}.h5", rnn_type, n_hidden))
            print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    median = {key: statistics.median(value) for key, value in times.items()}
    print(f"medians of {args.repeats}, seconds; baseline = {args.baseline}")
    print("| net | init, this | init, baseline | baseline / this | train.py job, this | job, baseline | "
          "baseline / this |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for rnn_type, n_hidden in CASES:
        m = {(side, what): median[(rnn_type, side, what)] for side in ("this", "baseline") for what in ("init", "job")}
        cells = [f"{m['this', w]:.2f} | {m['baseline', w]:.2f} | {m['baseline', w] / m['this', w]:.2f}×"
                 for w in ("init", "job")]
        print(f"| 3-bit {rnn_type}, {n_hidden} units | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
