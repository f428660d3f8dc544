"""Benchmark of `fixedpoints.certify`: time and boxes per task size and cell, to place its defaults.

Cases (FlipFlop nets trained with the project's defaults, one net per seed, input u = 0):
2-, 3-, 4-, 5-bit tanh with 3, 4, 6, 10 units; 3-bit GRU and LSTM with 8, 12 and 16 units.
Each net is certified ``--repeats`` times (median), then the medians over seeds are printed with
the spread of the box counts. "wall s" is elapsed time, "cpu s" the process's CPU time (the figure
to trust on a shared machine), "µs/box" = cpu s / boxes. A net that the budget does not certify is
counted in "certified" and its time is the time to spend the whole budget.

    python bench/certify_bench.py                                  # everything, 3 seeds, 3 repeats
    python bench/certify_bench.py --cases tanh2,tanh3,gru8 --seeds 0 --repeats 5
    python bench/certify_bench.py --cases gru16,lstm16 --repeats 1 --max-boxes 1000000
    python bench/certify_bench.py --model-dir models/                # keep the trained nets for reruns
    python bench/certify_bench.py --cross-check                      # also: the finder's set vs the proof

``--cross-check`` runs `FixedPointFinder` (defaults, on the net's test trajectories) and
`fixedpoints.certification.cross_check` on each net, and prints whether the finder found exactly the
proved roots, the farthest finder point from its root, and how many of the finder's slow/marginal
candidates lie within the matching tolerance of a proved root.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

CASES = {  # name: (rnn_type, n_bits, n_hidden)
    "tanh2": ("tanh", 2, 3), "tanh3": ("tanh", 3, 4), "tanh4": ("tanh", 4, 6), "tanh5": ("tanh", 5, 10),
    "gru8": ("gru", 3, 8), "lstm8": ("lstm", 3, 8), "gru12": ("gru", 3, 12), "lstm12": ("lstm", 3, 12),
    "gru16": ("gru", 3, 16), "lstm16": ("lstm", 3, 16),
}


def trained(case: str, seed: int, folder: str):
    """The net of ``case`` trained with the defaults from ``seed`` (read from ``folder`` if saved there)."""
    from fixedpoints import FlipFlopData, RNN, load_model, save_model, train
    path = os.path.join(folder, f"{case}_seed{seed}.h5")
    if not os.path.exists(path):
        rnn_type, n_bits, n_hidden = CASES[case]
        gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
        train_data, valid_data = gen.generate_data(512), gen.generate_data(128)
        rnn, history = train(RNN.init(rnn_type, n_bits, n_hidden, n_bits, seed=seed), train_data, valid_data,
                             seed=seed, verbose=False)
        print(f"trained {case} seed {seed}: {history.epochs} epochs, converged {history.converged}",
              file=sys.stderr, flush=True)
        save_model(rnn, path, history=history)
    return load_model(path)


def finder_agreement(rnn, case: str, seed: int, cert) -> str:
    """The finder's fixed points (defaults) against the certificate: 'agree', or what differs."""
    from fixedpoints import FixedPointFinder, FlipFlopData
    from fixedpoints.certification import cross_check
    n_bits = CASES[case][1]
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    test_data = [gen.generate_data(k) for k in (512, 128, 128)][2]       # the same draws as training
    finder = FixedPointFinder(rnn, verbose=False)
    unique, _ = finder.find_fixed_points(np.asarray(rnn(test_data["inputs"])[1]), np.zeros((1, n_bits)))
    check = cross_check(cert, unique.xstar[:, : rnn.n_hidden])
    slow = cross_check(cert, finder.slow_fps.xstar[:, : rnn.n_hidden]) if finder.slow_fps.n else None
    verdict = "agree" if check.agree else f"missed {len(check.missed_roots)}, unmatched {len(check.unmatched_points)}"
    farthest = float(check.distance.max()) if unique.n else 0.0
    slow_roots = int((slow.root_of_point >= 0).sum()) if slow else 0
    return f"{verdict} ({unique.n} points, farthest {farthest:.0e}; {finder.slow_fps.n} slow, {slow_roots} at a root)"


def measure(rnn, repeats: int, max_boxes: int) -> dict:
    """Median wall and CPU seconds of ``repeats`` certifications, and what the certificate says."""
    from fixedpoints import certify
    walls, cpus = [], []
    for _ in range(repeats):
        cpu = time.process_time()
        cert = certify(rnn, max_boxes=max_boxes)
        cpus.append(time.process_time() - cpu)
        walls.append(cert.wall_s)
    return dict(wall=float(np.median(walls)), cpu=float(np.median(cpus)), boxes=cert.n_boxes, roots=cert.n_roots,
                certified=cert.certified, undecided=cert.n_undecided, cert=cert)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated (default: %(default)s)")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, one net each (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="certifications per net (default: %(default)s)")
    parser.add_argument("--max-boxes", type=int, default=None, help="box budget (default: the library's)")
    parser.add_argument("--model-dir", default=None, help="folder to keep trained nets in (default: a temporary one)")
    parser.add_argument("--cross-check", action="store_true", help="also compare the finder's points with the proof")
    args = parser.parse_args()
    from fixedpoints.certification import DEFAULT_MAX_BOXES
    max_boxes = args.max_boxes or DEFAULT_MAX_BOXES
    seeds = [int(s) for s in args.seeds.split(",")]
    cases = args.cases.split(",")
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {', '.join(CASES)}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.model_dir or scratch
        os.makedirs(folder, exist_ok=True)
        for case in cases:
            results = []
            for seed in seeds:
                rnn = trained(case, seed, folder)
                results.append(measure(rnn, args.repeats, max_boxes))
                r = results[-1]
                print(f"{case} seed {seed}: {r['roots']} roots, {r['boxes']} boxes, certified {r['certified']}, "
                      f"cpu {r['cpu']:.2f} s", file=sys.stderr, flush=True)
                if args.cross_check:
                    print(f"{case} seed {seed}: finder {finder_agreement(rnn, case, seed, r['cert'])}", flush=True)
            rows.append((case, results))
    print(f"budget {max_boxes} boxes, seeds {args.seeds}, {args.repeats} repeats, medians over seeds")
    print("| case | cell | n | certified | roots per seed | boxes median (min–max) | wall s | cpu s | µs/box |")
    print("|---|---|---:|---:|---|---|---:|---:|---:|")
    for case, results in rows:
        rnn_type, _, n_hidden = CASES[case]
        boxes = [r["boxes"] for r in results]
        cpu = float(np.median([r["cpu"] for r in results]))
        roots = "/".join(str(r["roots"]) if r["certified"] else f"{r['roots']}+?" for r in results)
        print(f"| {case} | {rnn_type} | {n_hidden} | {sum(r['certified'] for r in results)}/{len(results)} | {roots} | "
              f"{int(np.median(boxes))} ({min(boxes)}–{max(boxes)}) | "
              f"{np.median([r['wall'] for r in results]):.2f} | {cpu:.2f} | {1e6 * cpu / np.median(boxes):.0f} |")


if __name__ == "__main__":
    main()
