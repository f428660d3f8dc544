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
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(5),
    params:
        n_bits=lookup(dpath="tasks/{task}/n_bits", within=config),
        options=section_options("data"),
    shell:
        "python workflow/scripts/generate_data.py --n-bits {params.n_bits} --seed {wildcards.seed} "
        "--out {output.data} {params.options} > {log} 2>&1"
