"""Summarise a sweep: results/summary/runs.csv (one row per run) and the sweep's figures.

Writes to --out-dir: runs.csv and three figures, each as .png and .pdf: stable_counts (stable and
total fixed-point counts per run against 2^N and 3^N; slow points and memories when the table has
them), saddle_index (fixed points per saddle index) and training_curves.
"""

import argparse
import sys
from pathlib import Path

from fixedpoints.cli import run_script
from fixedpoints.plotting import (plot_saddle_index_histogram, plot_stable_counts, plot_training_curves,
                                  save_figures)
from fixedpoints.summary import summarize_runs, training_curve, write_runs_csv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", nargs="+", required=True,
                        help="run folders results/<task>/<arch>/seed<seed>, each with data.h5, model.h5 "
                             "and fixed_points.h5")
    parser.add_argument("--benchmarks", default=None,
                        help="folder of the Snakemake benchmark files, for the wall times "
                             "(default: none, the wall times are NaN)")
    parser.add_argument("--out-dir", required=True, help="folder of the table and figures")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    runs = summarize_runs(args.runs, args.benchmarks)
    write_runs_csv(runs, out / "runs.csv")
    print(f"wrote {out / 'runs.csv'}: {len(runs)} runs", file=sys.stderr)
    figures = {"stable_counts": plot_stable_counts(runs), "saddle_index": plot_saddle_index_histogram(runs),
               "training_curves": plot_training_curves([training_curve(run) for run in args.runs])}
    for name, figure in figures.items():
        save_figures(figure, [out / f"{name}.png", out / f"{name}.pdf"])
    print(f"wrote the figures to {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_script(main))
