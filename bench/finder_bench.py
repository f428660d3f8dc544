"""Benchmark of FixedPointFinder: the full pipeline (optimisation, polish, completeness, Jacobians).

Cases:
* 3-bit nets, 1024 starts, defaults: tanh (4 units, trained with seed 42 as in the seed tutorial;
  also with method="sequential"), GRU and LSTM (8 units, seed 0);
  "cold" = a fresh Python process per repeat, so compilation is included (the process start and
  imports are not); "cached" = the same with JAX's persistent compilation cache already filled (as
  in the Snakemake sweep, `jax_cache_dir`); "warm" = repeated calls in one process.
* 256-unit GRU, 4096 starts, cold and warm: the seed-0 initialisation with its recurrent weights
  scaled by 1/8 (std 0.0625, gain ≈ 1); the seed's scale 0.5 at 256 units makes the map chaotic,
  so that no start converges and 5000 iterations run (about 30 ms each here). States: 128 FlipFlop trials.

Prints a table of medians over ``--repeats`` with the points found and their index census. Whether
those are all the fixed points is bench/finder_recall.py's question (an exhaustive float64 search).
With ``--baseline REV`` the finder of git revision REV runs beside, cold and warm, on the same nets (its
cold repeats alternate with ours), with the points it found and the ratios baseline / this revision.

    python bench/finder_bench.py --repeats 3
    python bench/finder_bench.py --repeats 5 --skip-gru --baseline 3daa2c3
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from baseline import baseline_tree  # noqa: E402


def build(case: str, folder: str):
    """Write (model.h5, states.npy) for a case; returns their paths."""
    from fixedpoints import FlipFlopData, RNN, save_model, train
    model_path, states_path = os.path.join(folder, f"{case}.h5"), os.path.join(folder, f"{case}.npy")
    if case in ("tanh3", "gru3", "lstm3"):
        rnn_type, n_hidden, seed = {"tanh3": ("tanh", 4, 42), "gru3": ("gru", 8, 0), "lstm3": ("lstm", 8, 0)}[case]
        gen = FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=seed)
        train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
        rnn, _ = train(RNN.init(rnn_type, 3, n_hidden, 3, seed=seed), train_data, valid_data, seed=seed,
                       verbose=False)
    else:
        test_data = FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=0).generate_data(128)
        rnn = RNN.init("gru", 3, 256, 3, seed=0)
        rnn = RNN("gru", {k: v / 8 if k.startswith("w_h") else v for k, v in rnn.params.items()})
    _, hiddens = rnn(test_data["inputs"])
    save_model(rnn, model_path)
    np.save(states_path, np.asarray(hiddens))
    return model_path, states_path


def run_once(model_path: str, states_path: str, n_inits: int, repeats: int, method: str = "joint") -> dict:
    """Time ``repeats`` calls in this process (the first includes compilation)."""
    from fixedpoints import FixedPointFinder, load_model
    rnn, hiddens = load_model(model_path), np.load(states_path)
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        finder = FixedPointFinder(rnn, method=method, verbose=False)
        unique, all_fps = finder.find_fixed_points(hiddens, np.zeros((1, rnn.n_inputs)), n_inits=n_inits)
        times.append(time.perf_counter() - start)
        census = np.bincount(unique.n_unstable, minlength=1).tolist()
        result = dict(n=unique.n, census=census, slow=finder.slow_fps.n, starts=all_fps.n)
    return dict(times=times, **result)


def run_child(command: list[str], env: dict | None = None) -> dict:
    """The result of `run_once` in a fresh process (``env``: its environment, e.g. a baseline's PYTHONPATH)."""
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repeats per case (default: %(default)s)")
    parser.add_argument("--skip-gru", action="store_true", help="only the 3-bit nets")
    parser.add_argument("--baseline", default=None, help="git revision whose finder runs beside, cold and warm")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model_path, states_path, n_inits, repeats, method = args.child
        print(json.dumps(run_once(model_path, states_path, int(n_inits), int(repeats), method)))
        return
    cases = [("tanh3", "3-bit tanh 4 units", 1024, "joint"), ("tanh3", "  same, sequential", 1024, "sequential"),
             ("gru3", "3-bit GRU 8 units", 1024, "joint"), ("lstm3", "3-bit LSTM 8 units", 1024, "joint")]
    cases += [] if args.skip_gru else [("gru256", "GRU 256 units", 4096, "joint")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        base_env = (dict(os.environ, PYTHONPATH=str(baseline_tree(args.baseline, Path(folder)) / "src"))
                    if args.baseline else None)
        built = {}
        for case, label, n_inits, method in cases:
            if case not in built:
                built[case] = build(case, folder)
            model_path, states_path = built[case]
            cold, base_cold = [], []
            child = [sys.executable, __file__, "--child", model_path, states_path, str(n_inits), "1", method]
            cache_env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(folder, f"cache_{case}_{method}"),
                             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
            for _ in range(args.repeats):
                cold.append(run_child(child))
                if base_env:
                    base_cold.append(run_child(child, base_env))
            run_child(child, cache_env)   # fills the cache
            cached = [run_child(child, cache_env) for _ in range(args.repeats)]
            warm = run_once(model_path, states_path, n_inits, args.repeats + 1, method)
            row = dict(label=label, n_inits=n_inits, cold=np.median([c["times"][0] for c in cold]),
                       cached=np.median([c["times"][0] for c in cached]),
                       warm=np.median(warm["times"][1:]), n=warm["n"], census=warm["census"], slow=warm["slow"],
                       starts=warm["starts"])
            if base_env:
                base_warm = run_child(child[:-2] + [str(args.repeats + 1), method], base_env)
                row.update(base_cold=np.median([c["times"][0] for c in base_cold]),
                           base_warm=np.median(base_warm["times"][1:]), base_n=base_warm["n"])
            rows.append(row)
    print(f"{'case':<22}{'starts':>8}{'cold s':>9}{'cached s':>9}{'warm s':>9}{'points':>8}  census by index   "
          f"slow" + ("  baseline: cold s  warm s  points  cold ×  warm ×" if args.baseline else ""))
    for r in rows:
        print(f"{r['label']:<22}{r['n_inits']:>8}{r['cold']:>9.2f}{r['cached']:>9.2f}{r['warm']:>9.2f}{r['n']:>8}  "
              f"{str(r['census']):<17}{r['slow']:>5}"
              + (f"{r['base_cold']:>18.2f}{r['base_warm']:>8.2f}{r['base_n']:>8}{r['base_cold'] / r['cold']:>8.2f}"
                 f"{r['base_warm'] / r['warm']:>8.2f}" if args.baseline else ""))


if __name__ == "__main__":
    main()
