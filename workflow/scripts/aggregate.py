"""Summarise a sweep: the runs table (one row per run) and the sweep's figures.

Writes the table (--runs-csv), the stable and total fixed-point counts per run against 2^N and 3^N
(--stable-counts-png, --stable-counts-pdf), the fixed points per saddle index (--saddle-index-png)
and the training curves (--training-curves-png), each to the path given; and what made the runs'
files (--provenance, CSV: one row per software set; the log says when there are several).
"""

import argparse
import sys

from fixedpoints.cli import run_script
from fixedpoints.plotting import plot_saddle_index_histogram, plot_stable_counts, plot_training_curves, save_figure
from fixedpoints.summary import provenance_table, provenance_verdict, summarize_runs, training_curve, write_runs_csv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", nargs="+", required=True,
                        help="run folders results/<task>/<arch>/seed<seed>, each with data.h5, model.h5 "
                             "and fixed_points.h5")
    parser.add_argument("--benchmarks", default=None,
                        help="folder of the Snakemake benchmark files, for the wall times "
                             "(default: none, the wall times are NaN)")
    parser.add_argument("--runs-csv", required=True, help="the runs table (CSV) to write")
    parser.add_argument("--stable-counts-png", required=True, help="the stable-count figure, PNG")
    parser.add_argument("--stable-counts-pdf", required=True, help="the stable-count figure, PDF")
    parser.add_argument("--saddle-index-png", required=True, help="the saddle-index histogram, PNG")
    parser.add_argument("--training-curves-png", required=True, help="the training curves, PNG")
    parser.add_argument("--provenance", required=True, help="what made the runs' files, CSV")
    args = parser.parse_args(argv)
    runs = summarize_runs(args.runs, args.benchmarks)
    write_runs_csv(runs, args.runs_csv)
    print(f"wrote {args.runs_csv}: {len(runs)} runs", file=sys.stderr)
    software = provenance_table(args.runs)
    write_runs_csv(software, args.provenance)
    print(f"wrote {args.provenance}: {provenance_verdict(software)}", file=sys.stderr)
    figure = plot_stable_counts(runs)
    save_figure(figure, args.stable_counts_png)
    save_figure(figure, args.stable_counts_pdf)
    save_figure(plot_saddle_index_histogram(runs), args.saddle_index_png)
    save_figure(plot_training_curves([training_curve(run) for run in args.runs]), args.training_curves_png)
    print("wrote the figures", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_script(main))
