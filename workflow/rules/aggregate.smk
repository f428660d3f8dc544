# The summary of the sweep, results/summary/: the runs table, what made its files, and the figures across
# runs (each as .png, in the report, and .pdf). The report shows them in the category "summary", each with
# its caption workflow/report/<name>.rst.


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
        **summary_outputs(),
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
        "--runs-csv {output.runs_csv} --provenance {output.provenance} "
        "--stable-counts {output.stable_counts_png} {output.stable_counts_pdf} "
        "--saddle-index {output.saddle_index_png} {output.saddle_index_pdf} "
        "--training-curves {output.training_curves_png} {output.training_curves_pdf} "
        "--topology-classes {output.topology_classes_png} {output.topology_classes_pdf} > {log} 2>&1"
