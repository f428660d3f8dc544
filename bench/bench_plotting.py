"""Time the per-run figures (plot_run): library call + two PNGs, and the whole script with its imports.

For each default task size (N bits, d hidden units) the fixed points are those of the closed-form
map x' = tanh(2x) on the first N coordinates (3^N points, 2^N stable, eigenvectors the unit axes)
and 0 on the others (stable directions, λ = 0.5); the trajectories are 128 trials × 64 steps of that
map with noise, as many as the default sweep's test set. Prints a table of medians over repeats.

    python bench/bench_plotting.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fixedpoints import RNN, save_model
from fixedpoints.fixed_points import FixedPoints
from fixedpoints.plotting import plot_run, save_figure

SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "plot_run.py"
SIZES = ((2, 3), (3, 4), (4, 6))   # (n_bits, n_hidden) of the default sweep


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per size (the median is printed)")
    args = parser.parse_args()
    print(f"{'task':>6} {'d':>3} {'points':>6} {'plot+save s':>12} {'script s':>9}   (medians of {args.repeats})")
    with tempfile.TemporaryDirectory() as tmp:
        for n_bits, n_hidden in SIZES:
            folder = Path(tmp) / f"{n_bits}bit"
            folder.mkdir()
            model, fixed_points = write_run(folder, n_bits, n_hidden)
            outs = [folder / "pca_2d.png", folder / "pca_3d.png"]
            plot_run(model, fixed_points)       # warm-up: lazy imports, font cache
            library, script = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                for fig, out in zip(plot_run(model, fixed_points), outs):
                    save_figure(fig, out)
                library.append(time.perf_counter() - start)
                start = time.perf_counter()
                subprocess.run([sys.executable, str(SCRIPT), "--model", str(model), "--fixed-points",
                                str(fixed_points), "--out-2d", str(outs[0]), "--out-3d", str(outs[1])], check=True)
                script.append(time.perf_counter() - start)
            print(f"{n_bits}bit {n_hidden:>5} {3 ** n_bits:>6} {statistics.median(library):>12.3f} "
                  f"{statistics.median(script):>9.2f}", flush=True)


if __name__ == "__main__":
    main()
