rule generate_data:
    output:
        data="results/{task}/{arch}/seed{seed}/data.h5",
    log:
        "results/logs/generate_data/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/generate_data/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> plots
    threads: 1
    resources:
        **run_resources("generate_data"),
    params:
        args=generate_data_args,
    shell:
        "python workflow/scripts/generate_data.py {params.args} > {log} 2>&1"
