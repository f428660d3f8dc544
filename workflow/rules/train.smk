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
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    params:
        n_hidden=lookup(dpath="tasks/{task}/n_hidden", within=config),
        options=section_options("training"),
    shell:
        "python workflow/scripts/train.py --data {input.data} --rnn-type {wildcards.arch} "
        "--n-hidden {params.n_hidden} --seed {wildcards.seed} --out {output.model} {params.options} > {log} 2>&1"
