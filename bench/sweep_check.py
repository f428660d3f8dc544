"""Check every run of a finished sweep against an independent exhaustive search, and list the runs whose
stable count is not 2^N with what their memory census says.

For each run folder results/<task>/<arch>/seed<seed>: the isolated roots of the cell's own fixed-point
equation at u = 0 found by scipy's MINPACK root finder from ``--starts`` starts in float64
(tests/exhaustive.py, written from the cell equations, independent of the finder), against the fixed
points in fixed_points.h5 (matched within 1e-4 in the reduced variable); the stable count against 2^N;
and the census columns of runs.csv. Prints one table row per run and a last line with the totals.

    python bench/sweep_check.py results                 # after a sweep, e.g. of bench/sweep_all_cells.yaml
    python bench/sweep_check.py results --starts 3000
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from exhaustive import exhaustive_search  # noqa: E402  (the tests' independent search)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="the sweep's results/ folder")
    parser.add_argument("--starts", type=int, default=2000, help="exhaustive-search starts per run")
    args = parser.parse_args()
    from fixedpoints import load_model
    from fixedpoints.equations import equation_for
    from fixedpoints.fixed_points import load_fixed_points
    from fixedpoints.summary import read_runs_csv

    runs = read_runs_csv(Path(args.results, "summary", "runs.csv"))
    print("| run | search: isolated roots | finder: fixed points (stable) | missed | extra | 2^N | memories held "
          "(at stable / slow points) | graph: hypercube |")
    print("|---|---|---|---|---|---|---|---|")
    totals = dict(runs=0, complete=0, missed=0, extra=0, off=0, explained=0)
    for row in runs.itertuples():
        folder = Path(args.results, row.task, row.arch, f"seed{row.seed}")
        rnn = load_model(folder / "model.h5")
        loaded = load_fixed_points(folder / "fixed_points.h5", groups=("unique",))
        if "skipped_reason" in loaded["attrs"]:
            print(f"| {row.task}/{row.arch}/seed{row.seed} | skipped: {loaded['attrs']['skipped_reason']} |")
            continue
        roots, _ = exhaustive_search(rnn.rnn_type, rnn.params, loaded["hiddens"].astype(np.float64), args.starts)
        found = np.asarray(equation_for(rnn.rnn_type).reduce(loaded["unique"].xstar), np.float64)
        distance = np.linalg.norm(roots[:, None] - found[None], axis=2) if len(roots) and len(found) else None
        missed = len(roots) if distance is None else int(np.sum(distance.min(axis=1) >= 1e-4))
        extra = len(found) if distance is None else int(np.sum(distance.min(axis=0) >= 1e-4))
        off = row.n_stable != 2 ** row.n_bits
        explained = off and row.n_memories_at_stable_points == row.n_stable
        totals.update(runs=totals["runs"] + 1, complete=totals["complete"] + (missed == extra == 0),
                      missed=totals["missed"] + missed, extra=totals["extra"] + extra, off=totals["off"] + off,
                      explained=totals["explained"] + explained)
        print(f"| {row.task}/{row.arch}/seed{row.seed} | {len(roots)} | {row.n_fixed_points} ({row.n_stable}) | "
              f"{missed} | {extra} | {2 ** row.n_bits} | {row.n_memories} ({row.n_memories_at_stable_points} / "
              f"{row.n_memories_at_slow_points}) | {row.is_hypercube} |", flush=True)
    print(f"\n{totals['complete']}/{totals['runs']} runs have exactly the roots of the exhaustive search "
          f"({totals['missed']} missed, {totals['extra']} extra); {totals['off']} runs have a stable count other than "
          f"2^N, of which {totals['explained']} hold as many memories at stable points as they have attractors.")


if __name__ == "__main__":
    main()
