rule topology:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    output:
        graph="results/{task}/{arch}/seed{seed}/graph.h5",
    log:
        "results/logs/topology/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/topology/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> topology, plots
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    params:
        options=section_options("topology"),
    shell:
        "python workflow/scripts/topology.py --model {input.model} --fixed-points {input.fixed_points} "
        "--out {output.graph} {params.options} > {log} 2>&1"
