"""Summarise a sweep: the runs table (one row per run), what made its files, and the sweep's figures.

Writes the table (--runs-csv); the provenance table (--provenance, CSV: one row per software set; the
log says when there are several); and, each to the file(s) given (.png, .pdf), the stable and total
fixed-point counts per run against 2^N and 3^N with the memory census and certificates
(--stable-counts), the fixed points per saddle index (--saddle-index), the training curves
(--training-curves) and the topology classes of the saddle-attractor graphs (--topology-classes).
"""

import argparse
import sys

from fixedpoints.cli import exit_script
from fixedpoints.plotting import plot_saddle_index_histogram, plot_stable_counts, plot_training_curves, save_figures
from fixedpoints.plotting.graph import plot_topology_classes
from fixedpoints.summary import provenance_table, provenance_verdict, summarize_runs, training_curve, write_runs_csv

FIGURES = {"stable_counts": "the stable-count figure", "saddle_index": "the saddle-index figure",
           "training_curves": "the training curves", "topology_classes": "the topology classes"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True,
                        help="run folders results/<task>/<arch>/seed<seed>, each with data.h5, model.h5, "
                             "fixed_points.h5 (and graph.h5, continuation.h5 when the sweep made them)")
    parser.add_argument("--benchmarks", default=None,
                        help="folder of the Snakemake benchmark files, for the wall times "
                             "(default: none, the wall times are NaN)")
    parser.add_argument("--runs-csv", required=True, help="the runs table (CSV) to write")
    parser.add_argument("--provenance", required=True, help="what made the runs' files, CSV")
    for name, text in FIGURES.items():
        parser.add_argument("--" + name.replace("_", "-"), nargs="+", required=True, metavar="FILE",
                            help=f"file(s) of {text} (.png, .pdf)")
    args = parser.parse_args(argv)
    runs = summarize_runs(args.runs, args.benchmarks)
    write_runs_csv(runs, args.runs_csv)
    print(f"wrote {args.runs_csv}: {len(runs)} runs", file=sys.stderr)
    software = provenance_table(args.runs)
    write_runs_csv(software, args.provenance)
    print(f"wrote {args.provenance}: {provenance_verdict(software)}", file=sys.stderr)
    figures = {"stable_counts": plot_stable_counts(runs), "saddle_index": plot_saddle_index_histogram(runs),
               "training_curves": plot_training_curves([training_curve(run) for run in args.runs]),
               "topology_classes": plot_topology_classes(runs)}
    for name, figure in figures.items():
        save_figures(figure, getattr(args, name))
    print("wrote the figures", file=sys.stderr)


if __name__ == "__main__":
    exit_script(main)
