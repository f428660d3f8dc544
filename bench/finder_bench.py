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

Prints a table of medians over ``--repeats`` and, for the 3-bit nets, the index census against an
exhaustive search (scipy's root finder from 4000 starts over the trajectories' box, isolated roots).

    python bench/finder_bench.py --repeats 3
    python bench/finder_bench.py --seed-check     # completeness on more nets, no timing
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


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
        result = dict(n=unique.n, census=census, slow=finder.slow_fps.n, starts=all_fps.n,
                      xstar=unique.xstar.tolist() if unique.n_states <= 16 else None)
    return dict(times=times, **result)


def exhaustive(model_path: str, states_path: str, n_starts: int = 4000):
    """Distinct isolated roots of F(x, 0) − x from scipy's hybrid solver (float64, analytic Jacobian)
    started uniformly over the trajectories' box (± 0.2), with their index: independent of the finder."""
    import jax
    import jax.numpy as jnp
    from scipy.optimize import fsolve
    from fixedpoints import load_model
    from fixedpoints.finder import x64_scope
    from fixedpoints.models import STEP_FUNCTIONS
    rnn = load_model(model_path)
    states = np.load(states_path).reshape(-1, rnn.state_size)
    lo, hi = states.min(0) - 0.2, states.max(0) + 0.2
    with x64_scope():
        params = {k: jnp.asarray(np.asarray(v), jnp.float64) for k, v in rnn.params.items()}
        u = jnp.zeros(rnn.n_inputs, jnp.float64)
        step = STEP_FUNCTIONS[rnn.rnn_type]
        residual = jax.jit(lambda x: step(params, x, u) - x)
        jacobian = jax.jit(jax.jacfwd(lambda x: step(params, x, u)))
        roots, index = [], []
        for x0 in np.random.default_rng(0).uniform(lo, hi, size=(n_starts, len(lo))):
            x, _, ok, _ = fsolve(lambda h: np.asarray(residual(h)), x0,
                                 fprime=lambda h: np.asarray(jacobian(h)) - np.eye(len(h)), full_output=True)
            if ok != 1 or np.linalg.norm(residual(x)) > 1e-10 or any(np.linalg.norm(x - r) < 1e-6 for r in roots):
                continue
            J = np.asarray(jacobian(x))
            if np.linalg.svd(J - np.eye(len(x)), compute_uv=False)[-1] >= 1e-3:    # isolated only
                roots.append(x)
                index.append(int(np.sum(np.abs(np.linalg.eigvals(J)) > 1)))
    return np.array(roots), np.bincount(index).tolist()


def seed_check(folder: str) -> None:
    """Finder (defaults) against the exhaustive search on tanh nets of the default sweep's sizes."""
    from fixedpoints import FixedPointFinder, FlipFlopData, RNN, save_model, train
    print(f"{'task':<6}{'seed':>5}  {'finder: points, census':<32}{'exhaustive':<32}matched")
    for n_bits, n_hidden, seeds in ((3, 4, range(6)), (4, 6, range(4))):
        for seed in seeds:
            gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
            train_data, valid_data, test_data = (gen.generate_data(n) for n in (512, 128, 128))
            rnn, _ = train(RNN.init("tanh", n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data,
                           seed=seed, verbose=False)
            hiddens = np.asarray(rnn(test_data["inputs"])[1])
            model_path, states_path = os.path.join(folder, "check.h5"), os.path.join(folder, "check.npy")
            save_model(rnn, model_path)
            np.save(states_path, hiddens)
            unique, _ = FixedPointFinder(rnn, verbose=False).find_fixed_points(hiddens, np.zeros((1, n_bits)))
            roots, census = exhaustive(model_path, states_path, 4000 if n_bits == 3 else 8000)
            matched = sum(np.min(np.linalg.norm(unique.xstar - r, axis=1)) < 1e-4 for r in roots) if unique.n else 0
            found = f"{unique.n} {np.bincount(unique.n_unstable).tolist()}"
            print(f"{n_bits}bit{seed:>6}  {found:<32}{f'{len(roots)} {census}':<32}{matched}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repeats per case (default: %(default)s)")
    parser.add_argument("--skip-gru", action="store_true", help="only the 3-bit nets")
    parser.add_argument("--seed-check", action="store_true",
                        help="instead: defaults vs exhaustive search on 3-bit seeds 0-5 and 4-bit seeds 0-3")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_check:
        with tempfile.TemporaryDirectory() as folder:
            seed_check(folder)
        return
    if args.child:
        model_path, states_path, n_inits, repeats, method = args.child
        print(json.dumps(run_once(model_path, states_path, int(n_inits), int(repeats), method)))
        return
    cases = [("tanh3", "3-bit tanh 4 units", 1024, "joint"), ("tanh3", "  same, sequential", 1024, "sequential"),
             ("gru3", "3-bit GRU 8 units", 1024, "joint"), ("lstm3", "3-bit LSTM 8 units", 1024, "joint")]
    cases += [] if args.skip_gru else [("gru256", "GRU 256 units", 4096, "joint")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        built = {}
        for case, label, n_inits, method in cases:
            if case not in built:
                built[case] = build(case, folder)
            model_path, states_path = built[case]
            cold, cached = [], []
            child = [sys.executable, __file__, "--child", model_path, states_path, str(n_inits), "1", method]
            cache_env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(folder, f"cache_{case}_{method}"),
                             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
            for _ in range(args.repeats):
                out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
                cold.append(json.loads(out))
            subprocess.run(child, capture_output=True, text=True, check=True, env=cache_env)   # fills the cache
            for _ in range(args.repeats):
                out = subprocess.run(child, capture_output=True, text=True, check=True, env=cache_env).stdout
                cached.append(json.loads(out))
            warm = run_once(model_path, states_path, n_inits, args.repeats + 1, method)
            row = dict(label=label, n_inits=n_inits, cold=np.median([c["times"][0] for c in cold]),
                       cached=np.median([c["times"][0] for c in cached]),
                       warm=np.median(warm["times"][1:]), n=warm["n"], census=warm["census"], slow=warm["slow"],
                       starts=warm["starts"])
            if case != "gru256" and method == "joint":
                roots, census = exhaustive(model_path, states_path)
                found = np.array(warm["xstar"])
                matched = sum(np.min(np.linalg.norm(found - r, axis=1)) < 1e-5 for r in roots)
                row["exhaustive"] = f"{len(roots)} roots {census}, {matched} found"
            rows.append(row)
    print(f"{'case':<22}{'starts':>8}{'cold s':>9}{'cached s':>9}{'warm s':>9}{'points':>8}  census by index   "
          f"slow  exhaustive")
    for r in rows:
        print(f"{r['label']:<22}{r['n_inits']:>8}{r['cold']:>9.2f}{r['cached']:>9.2f}{r['warm']:>9.2f}{r['n']:>8}  "
              f"{str(r['census']):<17}{r['slow']:>5}  {r.get('exhaustive', '-')}")


if __name__ == "__main__":
    main()
