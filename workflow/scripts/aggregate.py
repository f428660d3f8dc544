"""Summarise a sweep: results/summary/runs.csv (one row per run) and the sweep's figures.

Writes to --out-dir: runs.csv, stable_counts.png and .pdf (stable and total fixed-point counts per
run against 2^N and 3^N), saddle_index.png (fixed points per saddle index) and training_curves.png;
to --provenance (default: --out-dir/provenance.csv): what made the runs' files, one row per software
set (the log says when there are several).
"""

import argparse
import sys
from pathlib import Path

from fixedpoints.cli import run_script
from fixedpoints.plotting import (plot_saddle_index_histogram, plot_stable_counts, plot_training_curves,
                                  save_figure)
from fixedpoints.summary import provenance_table, provenance_verdict, summarize_runs, training_curve, write_runs_csv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", nargs="+", required=True,
                        help="run folders results/<task>/<arch>/seed<seed>, each with data.h5, model.h5 "
                             "and fixed_points.h5")
    parser.add_argument("--benchmarks", default=None,
                        help="folder of the Snakemake benchmark files, for the wall times "
                             "(default: none, the wall times are NaN)")
    parser.add_argument("--out-dir", required=True, help="folder of the table and figures")
    parser.add_argument("--provenance", default=None,
                        help="CSV file: what made the runs' files (default: <out-dir>/provenance.csv)")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    runs = summarize_runs(args.runs, args.benchmarks)
    write_runs_csv(runs, out / "runs.csv")
    print(f"wrote {out / 'runs.csv'}: {len(runs)} runs", file=sys.stderr)
    software, software_csv = provenance_table(args.runs), args.provenance or out / "provenance.csv"
    write_runs_csv(software, software_csv)
    print(f"wrote {software_csv}: {provenance_verdict(software)}", file=sys.stderr)
    figure = plot_stable_counts(runs)
    save_figure(figure, out / "stable_counts.png")
    save_figure(figure, out / "stable_counts.pdf")
    save_figure(plot_saddle_index_histogram(runs), out / "saddle_index.png")
    save_figure(plot_training_curves([training_curve(run) for run in args.runs]), out / "training_curves.png")
    print(f"wrote the figures to {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_script(main))
