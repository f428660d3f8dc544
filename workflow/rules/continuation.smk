rule continuation:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    output:
        continuation="results/{task}/{arch}/seed{seed}/continuation.h5",
    log:
        "results/logs/continuation/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/continuation/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> continuation, plots
    threads: 1
    resources:
        **run_resources("continuation"),
    params:
        args=continuation_args,
    shell:
        "python workflow/scripts/continuation.py {params.args} > {log} 2>&1"
