rule train:
    input:
        data="results/{task}/{arch}/seed{seed}/data.h5",
    output:
        model="results/{task}/{arch}/seed{seed}/model.h5",
    log:
        "results/logs/train/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> plots
    threads: 1
    resources:
        **run_resources("train"),
    params:
        args=train_args,
    shell:
        "python workflow/scripts/train.py {params.args} > {log} 2>&1"
