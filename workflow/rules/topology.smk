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
        **run_resources("topology"),
    params:
        args=topology_args,
    shell:
        "python workflow/scripts/topology.py {params.args} > {log} 2>&1"
