# Per-run figures; `snakemake --report results/report.html` collects them (captions: workflow/report/).
rule plot_run:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    output:
        pca_2d=report(
            "results/{task}/{arch}/seed{seed}/pca_2d.png",
            caption="../report/pca_2d.rst",
            category="{task}",
            subcategory="{arch}",
            labels={"seed": "{seed}", "figure": "PCA 2D"},
        ),
        pca_3d=report(
            "results/{task}/{arch}/seed{seed}/pca_3d.png",
            caption="../report/pca_3d.rst",
            category="{task}",
            subcategory="{arch}",
            labels={"seed": "{seed}", "figure": "PCA 3D"},
        ),
    log:
        "results/logs/plot_run/{task}/{arch}/seed{seed}.log",
    benchmark:
        "results/benchmarks/plot_run/{task}/{arch}/seed{seed}.tsv"
    group:
        "run"  # one Slurm job per run: data -> train -> fixed points -> plots
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    shell:
        "python workflow/scripts/plot_run.py --model {input.model} --fixed-points {input.fixed_points} "
        "--out-2d {output.pca_2d} --out-3d {output.pca_3d} > {log} 2>&1"
