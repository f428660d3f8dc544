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
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    params:
        options=section_options("fixed_points"),
        memory=section_options("memory"),
    shell:
        "python workflow/scripts/find_fixed_points.py --model {input.model} --data {input.data} "
        "--seed {wildcards.seed} --out {output.fixed_points} {params.options} {params.memory} > {log} 2>&1"
