"""Benchmark of the topology stage: the saddle–attractor graph of one run, at the default task sizes.

Cases: tanh nets of the default sweep's sizes (2-bit/3 units, 3-bit/4 units, 4-bit/6 units), trained
with seed 0 and the default settings, fixed points by the default finder (1024 starts), u = 0.
Columns:
* "script cold": `workflow/scripts/topology.py` (read model.h5 + fixed_points.h5, trace every branch,
  build the graph, write graph.h5) as a fresh process without a compilation cache — a sweep's first
  topology job; "script cached": the same with JAX's persistent compilation cache already filled,
  as every later job of the sweep (`jax_cache_dir`); both include the process start and imports, and
  are given as wall-clock and CPU seconds (user + system of the process: less sensitive to a busy machine).
* "trace warm": `connections.trace_branches` called again in one process (compiled).
Prints a table of medians over ``--repeats``.

    python bench/topology_bench.py --repeats 3
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "topology.py"
CASES = {"2bit": (2, 3), "3bit": (3, 4), "4bit": (4, 6)}


def build(task: str, folder: Path) -> tuple[Path, Path]:
    """Train the case's net and find its fixed points; write model.h5 and fixed_points.h5."""
    from fixedpoints import FixedPointFinder, FlipFlopData, RNN, save_model, train

    n_bits, n_hidden = CASES[task]
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=0)
    train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
    rnn, history = train(RNN.init("tanh", n_bits, n_hidden, n_bits, seed=0), train_data, valid_data, seed=0,
                         verbose=False)
    _, hiddens = rnn(test_data["inputs"])
    finder = FixedPointFinder(rnn, verbose=False)
    fps, all_fps = finder.find_fixed_points(np.asarray(hiddens), np.zeros((1, n_bits)))
    model, fixed_points = folder / f"{task}_model.h5", folder / f"{task}_fixed_points.h5"
    save_model(rnn, model, history=history)
    fps.save(fixed_points, all_fps=all_fps, hiddens=np.asarray(hiddens), slow_fps=finder.slow_fps)
    return model, fixed_points


def script_seconds(model: Path, fixed_points: Path, out: Path, cache: str | None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of the script in a fresh process."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    if cache:
        env.update(JAX_COMPILATION_CACHE_DIR=cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                   JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(SCRIPT), "--model", str(model), "--fixed-points", str(fixed_points),
                    "--out", str(out), "--no-verbose"], check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement (default: %(default)s)")
    args = parser.parse_args()

    from fixedpoints import FixedPoints, load_model
    from fixedpoints.connections import trace_branches
    from fixedpoints.models import STEP_FUNCTIONS
    from fixedpoints.topology import graph_columns, load_graph

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for task in CASES:
            print(f"{task}: training and finding fixed points", file=sys.stderr)
            model, fixed_points = build(task, folder)
            out = folder / f"{task}_graph.h5"
            cold = [script_seconds(model, fixed_points, out, None) for _ in range(args.repeats)]
            cache = str(folder / f"{task}_cache")
            script_seconds(model, fixed_points, out, cache)
            cached = [script_seconds(model, fixed_points, out, cache) for _ in range(args.repeats)]
            rnn, fps = load_model(model), FixedPoints.load(fixed_points)
            warm = []
            for _ in range(args.repeats + 1):
                start = time.perf_counter()
                branches = trace_branches(STEP_FUNCTIONS["tanh"], rnn.params, fps, np.zeros(rnn.n_inputs))
                warm.append(time.perf_counter() - start)
            columns = graph_columns(load_graph(out))
            medians = [statistics.median(t[k] for t in times) for times in (cold, cached) for k in (0, 1)]
            rows.append((task, fps.n, len(branches.saddle), int(branches.steps.max()), *medians,
                         statistics.median(warm[1:]), columns["is_hypercube"]))
    print("| task | fixed points | branches | max steps | script cold wall / CPU (s) | script cached wall / CPU (s) "
          "| trace warm (s) | hypercube |")
    print("|------|---:|---:|---:|---:|---:|---:|---|")
    for task, n, b, steps, cold, cold_cpu, cached, cached_cpu, warm, cube in rows:
        print(f"| {task} | {n} | {b} | {steps} | {cold:.2f} / {cold_cpu:.2f} | {cached:.2f} / {cached_cpu:.2f} "
              f"| {warm:.3f} | {cube} |")


if __name__ == "__main__":
    main()
