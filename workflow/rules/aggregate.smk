rule aggregate:
    input:
        data=run_files("data.h5"),
        models=run_files("model.h5"),
        fixed_points=run_files("fixed_points.h5"),
        benchmarks=benchmark_files("generate_data") + benchmark_files("train")
        + benchmark_files("find_fixed_points"),
    output:
        **SUMMARY_OUTPUTS,
    params:
        runs=run_dirs(),
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
        attempt=job_attempt,
    shell:
        "log_job_start attempt={resources.attempt} mem_mb={resources.mem_mb} runtime={resources.runtime} > {log}; "
        "within_budget python workflow/scripts/aggregate.py --runs {params.runs} --benchmarks results/benchmarks "
        "--out-dir results/summary --provenance {output.provenance} >> {log} 2>&1"
