"""Recall of FixedPointFinder against an exhaustive search, on trained tanh, GRU and LSTM nets.

For each net (FlipFlop task, trained with the seed's settings until loss < 1e-4 or 1000 epochs): the
finder with its defaults (1024 starts sampled from the test trajectories) against an independent
exhaustive search of the cell's own fixed-point equation in float64 — scipy's hybrid root finder
(`fsolve`, MINPACK) with the analytic Jacobian, from ``--starts`` starts (half uniform in the state
box (−1, 1)^k that holds every fixed point of these cells, half test-trajectory states plus noise),
roots with ‖R‖ < 1e-10 kept once (1e-7 apart), isolated when σ_min(∂R/∂y) ≥ 1e-3 (tests/exhaustive.py,
which writes the equations out in numpy from the cell equations, not from the finder's code). Prints one row per net: points and stable points found by each, recall, points the
finder missed and points it has that the search has not, and the finder's warm time (median of
``--repeats`` calls in one process, compiled).

    python bench/finder_recall.py                  # the default table (about 10 minutes)
    python bench/finder_recall.py --nets gru:3:16:0 --starts 4000
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from exhaustive import exhaustive_search  # noqa: E402  (the tests' independent search)

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=NETS, help="type:n_bits:n_hidden:seed (default: %(default)s)")
    parser.add_argument("--starts", type=int, default=3000, help="exhaustive-search starts per net")
    parser.add_argument("--repeats", type=int, default=3, help="finder calls per net (median time of all but the first)")
    args = parser.parse_args()
    from fixedpoints import FixedPointFinder
    from fixedpoints.equations import equation_for
    print("| net | search: points (stable) | finder: points (stable) | recall | missed | extra | non-isolated "
          "roots | slow points | finder warm s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for spec in args.nets:
        rnn, hiddens = trained(spec)
        times = []
        for _ in range(max(args.repeats, 2)):
            start = time.perf_counter()
            finder = FixedPointFinder(rnn, verbose=False)
            unique, _ = finder.find_fixed_points(hiddens, np.zeros((1, rnn.n_inputs)))
            times.append(time.perf_counter() - start)
        roots, degenerate = exhaustive_search(rnn.rnn_type, rnn.params, hiddens, args.starts)
        found = np.asarray(equation_for(rnn.rnn_type).reduce(unique.xstar), np.float64)
        distance = np.linalg.norm(roots[:, None] - found[None], axis=2) if len(roots) and len(found) else np.zeros((len(roots), len(found)))
        matched = distance.min(axis=1) < 1e-4 if len(found) else np.zeros(len(roots), bool)
        extra = int(np.sum(distance.min(axis=0) >= 1e-4)) if len(roots) else len(found)
        stable = stable_mask(rnn, roots)
        recall = matched.mean() if len(roots) else 1.0
        print(f"| {spec} | {len(roots)} ({int(stable.sum())}) | {unique.n} ({int(unique.is_stable.sum())}) | "
              f"{recall:.3f} | {int((~matched).sum())} | {extra} | {len(degenerate)} | {finder.slow_fps.n} | "
              f"{np.median(times[1:]):.2f} |", flush=True)


if __name__ == "__main__":
    main()
