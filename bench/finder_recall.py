"""Recall of FixedPointFinder against an exhaustive search, on trained tanh, GRU and LSTM nets.

For each net (FlipFlop task, trained with the seed's settings until loss < 1e-4 or 1000 epochs): the
finder with its defaults (1024 starts sampled from the test trajectories) against an independent
exhaustive search of the cell's own fixed-point equation in float64 — scipy's hybrid root finder
(`fsolve`, MINPACK) with the analytic Jacobian, from ``--starts`` starts (half uniform in the state
box (−1, 1)^k that holds every fixed point of these cells, half test-trajectory states plus noise),
roots with ‖R‖ < 1e-10 kept once (1e-7 apart), isolated when σ_min(∂R/∂y) ≥ 1e-3 (tests/exhaustive.py,
which writes the equations out in numpy from the cell equations, not from the finder's code).
Prints one row per net: points and stable points found by each, recall, points the
finder missed and points it has that the search has not, and the finder's warm time (median of
``--repeats`` calls in one process, compiled); the proved count of the interval certificate where it is
cheap; with ``--baseline REV`` the finder of that git revision beside it, on the same nets.

    python bench/finder_recall.py                  # the default table (about 10 minutes)
    python bench/finder_recall.py --nets gru:3:16:0 --starts 4000
    python bench/finder_recall.py --baseline 15477a3   # the finder before issue #11, side by side
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from exhaustive import exhaustive_search  # noqa: E402  (the tests' independent search)

from baseline import baseline_tree  # noqa: E402

NETS = ["tanh:3:4:0", "tanh:3:4:1", "tanh:4:6:0", "gru:2:8:2", "gru:3:8:1", "gru:3:8:2", "gru:3:16:0",
        "gru:3:16:1", "gru:3:16:2", "gru:2:3:5", "lstm:2:4:1", "lstm:3:8:1", "lstm:3:8:2", "lstm:3:16:1",
        "lstm:3:16:2"]
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "recall")


def stable_mask(rnn, y_rxk):
    """Whether each root is stable, from the full map's Jacobian eigenvalues (numpy, float64)."""
    import jax
    from fixedpoints.equations import equation_for
    from fixedpoints.finder import x64_scope
    eq = equation_for(rnn.rnn_type)
    with x64_scope():
        params = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
        u = np.zeros(rnn.n_inputs)
        out = []
        for y in y_rxk:
            x = eq.lift(params, y, u)
            J = np.asarray(jax.jacfwd(eq.step, argnums=1)(params, x, u))
            out.append(np.max(np.abs(np.linalg.eigvals(J))) < 1)
    return np.array(out, bool)


def trained(spec):
    from fixedpoints import FlipFlopData, RNN, load_model, save_model, train
    rnn_type, n_bits, n_hidden, seed = spec.split(":")
    n_bits, n_hidden, seed = int(n_bits), int(n_hidden), int(seed)
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
    path = os.path.join(CACHE, spec.replace(":", "_") + ".h5")
    if os.path.exists(path):
        rnn = load_model(path)
    else:
        rnn, history = train(RNN.init(rnn_type, n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data,
                             seed=seed, verbose=False)
        os.makedirs(CACHE, exist_ok=True)
        save_model(rnn, path, history=history)
    _, hiddens = rnn(test_data["inputs"])
    return rnn, np.asarray(hiddens, np.float64)


BASELINE_RUNNER = """
import json, sys, time
import numpy as np
from fixedpoints import FixedPointFinder, load_model
rnn, hiddens, repeats = load_model(sys.argv[1]), np.load(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(repeats):
    start = time.perf_counter()
    unique, _ = FixedPointFinder(rnn, verbose=False).find_fixed_points(hiddens, np.zeros((1, rnn.n_inputs)))
    times.append(time.perf_counter() - start)
print(json.dumps({"xstar": unique.xstar.tolist(), "stable": int(unique.is_stable.sum()), "times": times}))
"""


def run_baseline(tree, spec: str, hiddens: np.ndarray, repeats: int) -> dict:
    """The finder of a baseline revision (its ``src`` first on PYTHONPATH), on the cached net ``spec``."""
    model = os.path.join(CACHE, spec.replace(":", "_") + ".h5")
    states = os.path.join(CACHE, spec.replace(":", "_") + "_hiddens.npy")
    np.save(states, hiddens)
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run([sys.executable, "-c", BASELINE_RUNNER, model, states, str(repeats)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def matching(roots: np.ndarray, found: np.ndarray) -> tuple[int, int]:
    """(roots with no found point within 1e-4, found points with no root within 1e-4)."""
    if len(roots) == 0 or len(found) == 0:
        return len(roots), len(found)
    distance = np.linalg.norm(roots[:, None] - found[None], axis=2)
    return int(np.sum(distance.min(axis=1) >= 1e-4)), int(np.sum(distance.min(axis=0) >= 1e-4))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=NETS, help="type:n_bits:n_hidden:seed (default: %(default)s)")
    parser.add_argument("--starts", type=int, default=3000, help="exhaustive-search starts per net")
    parser.add_argument("--repeats", type=int, default=3,
                        help="finder calls per net (median time of all but the first)")
    parser.add_argument("--baseline", default=None, help="git revision whose finder runs beside, on the same nets")
    args = parser.parse_args()
    from fixedpoints import FixedPointFinder, certify
    from fixedpoints.certification import cheap_to_certify
    from fixedpoints.equations import equation_for
    repeats = max(args.repeats, 2)
    with tempfile.TemporaryDirectory() as tmp:
        tree = baseline_tree(args.baseline, Path(tmp)) if args.baseline else None
        print("| net | search: roots (stable) | certificate: roots | finder: points (stable) | missed | extra "
              "| slow points | finder warm s |" + (" baseline: points (stable) | missed | warm s | speed-up |"
                                                    if tree else ""))
        print("|---" * (8 + 4 * bool(tree)) + "|")
        for spec in args.nets:
            rnn, hiddens = trained(spec)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                finder = FixedPointFinder(rnn, verbose=False)
                unique, _ = finder.find_fixed_points(hiddens, np.zeros((1, rnn.n_inputs)))
                times.append(time.perf_counter() - start)
            roots, _ = exhaustive_search(rnn.rnn_type, rnn.params, hiddens, args.starts)
            proved = certify(rnn).n_roots if cheap_to_certify(rnn.rnn_type, rnn.n_hidden) else "–"
            reduce = equation_for(rnn.rnn_type).reduce
            missed, extra = matching(roots, np.asarray(reduce(unique.xstar), np.float64))
            row = (f"| {spec} | {len(roots)} ({int(stable_mask(rnn, roots).sum())}) | {proved} | {unique.n} "
                   f"({int(unique.is_stable.sum())}) | {missed} | {extra} | {finder.slow_fps.n} | "
                   f"{np.median(times[1:]):.2f} |")
            if tree:
                old = run_baseline(tree, spec, hiddens, repeats)
                old_x = np.asarray(old["xstar"], np.float64).reshape(-1, hiddens.shape[-1])
                old_missed, _ = matching(roots, np.asarray(reduce(old_x), np.float64))
                old_time = float(np.median(old["times"][1:]))
                row += (f" {len(old_x)} ({old['stable']}) | {old_missed} | {old_time:.2f} | "
                        f"{old_time / np.median(times[1:]):.1f}× |")
            print(row, flush=True)


if __name__ == "__main__":
    main()
