rule find_fixed_points:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        data="results/{task}/{arch}/seed{seed}/data.h5",
    output:
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    log:
        "results/logs/find_fixed_points/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/find_fixed_points/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> plots
    threads: 1
    resources:
        **run_resources("find_fixed_points"),
    params:
        args=find_fixed_points_args,
    shell:
        "python workflow/scripts/find_fixed_points.py {params.args} > {log} 2>&1"
