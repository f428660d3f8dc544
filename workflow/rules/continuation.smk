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
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    params:
        options=section_options("continuation"),
    shell:
        "python workflow/scripts/continuation.py --model {input.model} --fixed-points {input.fixed_points} "
        "--out {output.continuation} {params.options} > {log} 2>&1"
