rule find_fixed_points:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        data="results/{task}/{arch}/seed{seed}/data.h5",
    output:
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    params:
        options=section_options("fixed_points"),
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
        attempt=job_attempt,
    shell:
        "log_job_start attempt={resources.attempt} mem_mb={resources.mem_mb} runtime={resources.runtime} > {log}; "
        "within_budget python workflow/scripts/find_fixed_points.py --model {input.model} --data {input.data} "
        "--seed {wildcards.seed} --out {output.fixed_points} {params.options} >> {log} 2>&1"
