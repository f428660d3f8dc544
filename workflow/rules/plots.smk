# Per-run figures; `snakemake --report results/report.html` collects them (captions: workflow/report/).
report: "../report/workflow.rst"

# The aggregate rule's outputs (SUMMARY, plus a vector PDF beside every PNG figure): the figures and
# table below go into the report, with their captions (workflow/report/<name>.rst), in the category
# "summary".
SUMMARY_REPORT = {"runs": ("runs.rst", "table of runs"), "stable_counts_png": ("stable_counts.rst", "stable counts"),
                  "saddle_index": ("saddle_index.rst", "saddle index histogram"),
                  "training_curves": ("training_curves.rst", "training curves")}
SUMMARY_PDFS = {f"{key.removesuffix('_png')}_pdf": path.removesuffix(".png") + ".pdf"
                for key, path in SUMMARY.items() if path.endswith(".png")}
SUMMARY_OUTPUTS = {key: report(path, caption=f"../report/{SUMMARY_REPORT[key][0]}", category="summary",
                               subcategory="all runs", labels={"figure": SUMMARY_REPORT[key][1]})
                   if key in SUMMARY_REPORT else path
                   for key, path in {**SUMMARY, **SUMMARY_PDFS}.items()}

# The figures of a run (plot_run.py): name -> (report caption, report label); each as .png (in the
# report) and .pdf. "fixed_points" is the run's main figure (the view chosen for its task).
RUN_FIGURES = {"fixed_points": ("fixed_points.rst", "main"), "readout": ("readout.rst", "readout"),
               "pca_2d": ("pca_2d.rst", "PCA 2D"), "pca_3d": ("pca_3d.rst", "PCA 3D")}
RUN_FIGURE_OUTPUTS = {
    key: path
    for name, (caption, label) in RUN_FIGURES.items()
    for key, path in (
        (name, report(f"results/{{task}}/{{arch}}/seed{{seed}}/{name}.png", caption=f"../report/{caption}",
                      category="{task}", subcategory="{arch}", labels={"seed": "{seed}", "figure": label})),
        (f"{name}_pdf", f"results/{{task}}/{{arch}}/seed{{seed}}/{name}.pdf"),
    )
}


rule plot_run:
    input:
        model="results/{task}/{arch}/seed{seed}/model.h5",
        fixed_points="results/{task}/{arch}/seed{seed}/fixed_points.h5",
    output:
        **RUN_FIGURE_OUTPUTS,
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
        attempt=job_attempt,
    conda:
        PYTHON_ENV
    shell:
        "log_job_start attempt={resources.attempt} mem_mb={resources.mem_mb} runtime={resources.runtime} > {log}; "
        "within_budget python workflow/scripts/plot_run.py --model {input.model} --fixed-points {input.fixed_points} "
        "--out-main {output.fixed_points} {output.fixed_points_pdf} --out-readout {output.readout} "
        "{output.readout_pdf} --out-2d {output.pca_2d} {output.pca_2d_pdf} "
        "--out-3d {output.pca_3d} {output.pca_3d_pdf} >> {log} 2>&1"
