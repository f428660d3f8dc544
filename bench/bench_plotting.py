"""Time the per-run figures (plot_run): CPU seconds of the script, its imports, and the library call.

For each default task size (N bits, d hidden units) the fixed points are those of the closed-form
map x' = tanh(2x) on the first N coordinates (3^N points, 2^N stable, eigenvectors the unit axes)
and 0 on the others (stable directions, λ = 0.5); the trajectories are 128 trials × 64 steps of that
map with noise, as many as the default sweep's test set. Each configuration runs as a fresh process
(as a Snakemake job does); its CPU time (user + system, from the OS) is the median over repeats,
the configurations interleaved so that a change of machine load hits all of them alike.

* ``script, 2 PNG``: ``plot_run.py --out-2d a.png --out-3d b.png`` (what the old rule wrote);
* ``script, 4 PNG``: the four state-space figures the plot_run rule writes (main figure, readout view,
  PCA 2D and 3D) as the default sweep writes them, PNG (the rule's graph and bifurcation figures need a
  run's graph.h5 and continuation.h5, which this closed-form run has not);
* ``imports``: ``import fixedpoints.plotting, fixedpoints.fixed_points`` alone;
* ``library``: `plot_run` and saving the 4 PNGs, in this process (imports done).

With ``--baseline REV`` the same script of git revision REV (its ``src/`` and ``plot_run.py``,
extracted with ``git archive``) runs beside, with the same 2 and 4 PNGs, and the ratios are printed.

    python bench/bench_plotting.py [--repeats 5] [--baseline 1003fb5] [--sizes 2:3 3:4 4:6 5:7]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from baseline import baseline_tree
from fixedpoints import RNN, save_model
from fixedpoints.fixed_points import FixedPoints
from fixedpoints.plotting import plot_run, save_figures

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path("workflow") / "scripts" / "plot_run.py"
SIZES = ((2, 3), (3, 4), (4, 6))   # (n_bits, n_hidden) of the default sweep
RULE_VIEWS = {"main": "fixed_points", "readout": "readout", "2d": "pca_2d", "3d": "pca_3d"}   # option: file


def write_run(folder: Path, n_bits: int, n_hidden: int) -> tuple[Path, Path]:
    a = 1.0
    for _ in range(200):
        a = np.tanh(2 * a)
    active = np.array(list(itertools.product([-a, 0.0, a], repeat=n_bits)))
    n = len(active)
    xstar = np.concatenate([active, np.zeros((n, n_hidden - n_bits))], axis=1)
    lam = np.concatenate([2 * (1 - np.tanh(2 * active) ** 2), np.full((n, n_hidden - n_bits), 0.5)], axis=1)
    order = np.argsort(-np.abs(lam), axis=1, kind="stable")
    eigval = np.take_along_axis(lam, order, axis=1).astype(np.complex128)
    eigvec = np.stack([np.eye(n_hidden)[:, o] for o in order]).astype(np.complex128)
    fps = FixedPoints(xstar, x_init=xstar, inputs=np.zeros((n, n_bits)), F_xstar=xstar, qstar=np.zeros(n),
                      dq=np.zeros(n), n_iters=np.zeros(n, int), eigval_J_xstar=eigval, eigvec_J_xstar=eigvec,
                      is_stable=np.all(np.abs(eigval) < 1, axis=1), n_unstable=np.sum(np.abs(eigval) > 1, axis=1))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (128, n_hidden))
    states = []
    for _ in range(64):
        states.append(x)
        x = np.tanh(2 * x + rng.normal(0, 0.3, x.shape)) * np.r_[np.ones(n_bits), np.full(n_hidden - n_bits, 0.5)]
    fps.save(folder / "fixed_points.h5", hiddens=np.stack(states, axis=1).astype(np.float32))
    save_model(RNN.init("tanh", n_inputs=n_bits, n_hidden=n_hidden, n_outputs=n_bits, seed=0), folder / "model.h5",
               seed=0)
    return folder / "model.h5", folder / "fixed_points.h5"


def cpu_seconds(command: list[str], env: dict | None = None) -> float:
    """User + system CPU seconds of one child process (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per configuration (the median is printed)")
    parser.add_argument("--baseline", default=None, help="git revision whose plot_run.py runs beside (2 PNGs)")
    parser.add_argument("--sizes", nargs="+", default=[f"{n}:{d}" for n, d in SIZES], metavar="BITS:UNITS",
                        help="task sizes to draw, N bits : d hidden units (default: the default sweep's)")
    args = parser.parse_args()
    sizes = [tuple(int(part) for part in size.split(":")) for size in args.sizes]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        configs = {}
        if args.baseline:
            old = baseline_tree(args.baseline, tmp)
            old_env = {**os.environ, "PYTHONPATH": str(old / "src")}
            configs["baseline, 2 PNG"] = (old / SCRIPT, old_env, "2png")
            configs["baseline, 4 PNG"] = (old / SCRIPT, old_env, "4png")
        configs["script, 2 PNG"] = (ROOT / SCRIPT, None, "2png")
        configs["script, 4 PNG"] = (ROOT / SCRIPT, None, "4png")
        header = f"{'task':>5} {'d':>2} {'points':>6} " + " ".join(f"{name:>16}" for name in configs)
        print(header + f" {'imports':>8} {'library':>8}"
              + ("  baseline/script: 2 PNG, 4 PNG" if args.baseline else ""))
        print(f"{'':>16} CPU seconds, medians of {args.repeats}; library: wall seconds in this process")
        imports = [sys.executable, "-c", "import fixedpoints.plotting, fixedpoints.fixed_points"]
        for n_bits, n_hidden in sizes:
            folder = tmp / f"{n_bits}bit"
            folder.mkdir()
            model, fixed_points = write_run(folder, n_bits, n_hidden)
            base = [sys.executable, "", "--model", str(model), "--fixed-points", str(fixed_points)]
            outputs = {"2png": ["--out-2d", str(folder / "a.png"), "--out-3d", str(folder / "b.png")],
                       "4png": [arg for option, name in RULE_VIEWS.items() for arg in
                                (f"--out-{option}", str(folder / f"{name}.png"))]}
            times: dict[str, list[float]] = {name: [] for name in [*configs, "imports", "library"]}
            plot_run(model, fixed_points)                 # warm-up: lazy imports, font cache
            for _ in range(args.repeats):
                for name, (script, env, kind) in configs.items():
                    command = base.copy()
                    command[1] = str(script)
                    times[name].append(cpu_seconds(command + outputs[kind], env))
                times["imports"].append(cpu_seconds(imports))
                start = time.perf_counter()
                figures = plot_run(model, fixed_points)
                for option, name in RULE_VIEWS.items():
                    save_figures(figures[{"2d": "pca_2d", "3d": "pca_3d"}.get(option, option)],
                                 [folder / f"{name}.png"])
                times["library"].append(time.perf_counter() - start)
            medians = {name: statistics.median(values) for name, values in times.items()}
            row = f"{n_bits}bit {n_hidden:>3} {3 ** n_bits:>6} " + " ".join(f"{medians[n]:>16.2f}" for n in configs)
            row += f" {medians['imports']:>8.2f} {medians['library']:>8.2f}"
            if args.baseline:
                row += "  " + ", ".join(f"{medians[f'baseline, {k} PNG'] / medians[f'script, {k} PNG']:.2f}"
                                        for k in (2, 4))
            print(row, flush=True)


if __name__ == "__main__":
    main()
