"""Benchmark of the continuation (`fixedpoints.continuation.continue_fixed_points`) on the default task sizes.

Per task of the default sweep (2-bit/3 units, 3-bit/4 units, 4-bit/6 units, tanh), a network trained
with the sweep's settings (seed ``--seed``) and its fixed points from the finder's defaults; then the
continuation of all of them along ±e_k, s ∈ [0, 1], with the default options:

* "cold": a fresh Python process per repeat, so compilation is included (process start and imports
  are not), as in the first job of a sweep;
* "cached": the same with JAX's persistent compilation cache filled beforehand (the sweep's
  ``jax_cache_dir``: every later job of a task);
* "warm": repeated calls in one process;
* "script": the whole ``workflow/scripts/continuation.py`` process (imports, reading the files,
  writing continuation.h5) with the cache filled, as the rule runs it.

Prints a table of medians over ``--repeats`` with the size of each problem (fixed points, branches,
points, folds) and the run's columns.

    python bench/continuation_bench.py --repeats 3
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

ROOT = Path(__file__).resolve().parents[1]
TASKS = {"2bit": (2, 3), "3bit": (3, 4), "4bit": (4, 6)}


def build(task: str, seed: int, folder: str) -> tuple[str, str]:
    """Train the task's network and find its fixed points → (model.h5, fixed_points.h5)."""
    from fixedpoints import FixedPointFinder, FlipFlopData, RNN, save_model, train
    n_bits, n_hidden = TASKS[task]
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
    rnn, history = train(RNN.init("tanh", n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data, seed=seed,
                         verbose=False)
    hiddens = np.asarray(rnn(test_data["inputs"])[1])
    unique, _ = FixedPointFinder(rnn, verbose=False).find_fixed_points(hiddens, np.zeros((1, n_bits)))
    model_path, fixed_points_path = os.path.join(folder, f"{task}_model.h5"), os.path.join(folder, f"{task}_fp.h5")
    save_model(rnn, model_path, history=history)
    unique.save(fixed_points_path)
    return model_path, fixed_points_path


def run_once(model_path: str, fixed_points_path: str, repeats: int) -> dict:
    """Time ``repeats`` continuations in this process (the first includes compilation)."""
    from fixedpoints import FixedPoints, load_model
    from fixedpoints.branches import flip_columns
    from fixedpoints.continuation import continue_fixed_points
    rnn, fps = load_model(model_path), FixedPoints.load(fixed_points_path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cont = continue_fixed_points(rnn, fps, verbose=False)
        times.append(time.perf_counter() - start)
    kinds = cont.bifurcations["kind"]
    return dict(times=times, n=len(cont.start_x), branches=cont.n_branches, points=len(cont.s),
                folds=int(np.sum(kinds == "fold")), other=int(np.sum(kinds != "fold")), columns=flip_columns(cont))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repeats per case (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the networks (default: %(default)s)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS), help="tasks to run")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model_path, fixed_points_path, repeats = args.child
        print(json.dumps(run_once(model_path, fixed_points_path, int(repeats))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for task in args.tasks:
            model_path, fixed_points_path = build(task, args.seed, folder)
            child = [sys.executable, __file__, "--child", model_path, fixed_points_path, "1"]
            cache_env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(folder, f"cache_{task}"),
                             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
            cold = [json.loads(subprocess.run(child, capture_output=True, text=True, check=True).stdout)
                    for _ in range(args.repeats)]
            subprocess.run(child, capture_output=True, text=True, check=True, env=cache_env)   # fills the cache
            cached = [json.loads(subprocess.run(child, capture_output=True, text=True, check=True,
                                                env=cache_env).stdout) for _ in range(args.repeats)]
            script = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / "continuation.py"), "--model",
                                model_path, "--fixed-points", fixed_points_path, "--out",
                                os.path.join(folder, f"{task}_continuation.h5")], capture_output=True, check=True,
                               env=cache_env)
                script.append(time.perf_counter() - start)
            warm = run_once(model_path, fixed_points_path, args.repeats + 1)
            rows.append(dict(task=task, cold=np.median([c["times"][0] for c in cold]),
                             cached=np.median([c["times"][0] for c in cached]), warm=np.median(warm["times"][1:]),
                             script=np.median(script), **{k: warm[k] for k in ("n", "branches", "points", "folds",
                                                                                 "other", "columns")}))
    print(f"{'task':<6}{'points':>7}{'branches':>9}{'steps':>7}{'folds':>6}{'other':>6}{'cold s':>8}{'cached s':>9}"
          f"{'warm s':>8}{'script s':>9}  fold amplitudes, flips cleanly")
    for r in rows:
        c = r["columns"]
        print(f"{r['task']:<6}{r['n']:>7}{r['branches']:>9}{r['points']:>7}{r['folds']:>6}{r['other']:>6}"
              f"{r['cold']:>8.2f}{r['cached']:>9.2f}{r['warm']:>8.2f}{r['script']:>9.2f}  "
              f"{c['fold_amplitude_min']:.3f}-{c['fold_amplitude_max']:.3f}, {c['flips_cleanly']}")


if __name__ == "__main__":
    main()
