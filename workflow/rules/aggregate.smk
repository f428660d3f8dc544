# The summary of the sweep, results/summary/: the runs table and the figures across runs. The report
# shows them in the category "summary", each with its caption workflow/report/<name>.rst.


rule aggregate:
    input:
        data=run_files("data.h5"),
        models=run_files("model.h5"),
        fixed_points=run_files("fixed_points.h5"),
        graphs=run_files("graph.h5"),
        continuations=run_files("continuation.h5"),
        benchmarks=benchmark_files("generate_data")
        + benchmark_files("train")
        + benchmark_files("find_fixed_points")
        + benchmark_files("topology")
        + benchmark_files("continuation"),
    output:
        runs_csv=report(
            "results/summary/runs.csv",
            caption="../report/runs.rst",
            category="summary",
            subcategory="all runs",
            labels={"figure": "table of runs"},
        ),
        stable_counts_png=report(
            "results/summary/stable_counts.png",
            caption="../report/stable_counts.rst",
            category="summary",
            subcategory="all runs",
            labels={"figure": "stable counts"},
        ),
        stable_counts_pdf="results/summary/stable_counts.pdf",
        saddle_index_png=report(
            "results/summary/saddle_index.png",
            caption="../report/saddle_index.rst",
            category="summary",
            subcategory="all runs",
            labels={"figure": "saddle index histogram"},
        ),
        training_curves_png=report(
            "results/summary/training_curves.png",
            caption="../report/training_curves.rst",
            category="summary",
            subcategory="all runs",
            labels={"figure": "training curves"},
        ),
        provenance=report(
            "results/summary/provenance.csv",
            caption="../report/provenance.rst",
            category="summary",
            subcategory="all runs",
            labels={"figure": "software provenance"},
        ),
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    params:
        runs=run_dirs(),
    shell:
        "python workflow/scripts/aggregate.py --runs {params.runs} --benchmarks results/benchmarks "
        "--runs-csv {output.runs_csv} --stable-counts-png {output.stable_counts_png} "
        "--stable-counts-pdf {output.stable_counts_pdf} --saddle-index-png {output.saddle_index_png} "
        "--training-curves-png {output.training_curves_png} --provenance {output.provenance} > {log} 2>&1"
