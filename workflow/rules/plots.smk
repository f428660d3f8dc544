# Per-run figures, those the config's run_figures names (none: no plot_run jobs); `snakemake --report
# results/report.html` collects them (captions: workflow/report/).

if run_figure_names():

    rule plot_run:
        input:
            **plot_run_inputs(),
        output:
            **run_figure_outputs(),
        log:
            "results/logs/plot_run/{task}/{arch}/seed{seed}.log",
        benchmark:
            "results/benchmarks/plot_run/{task}/{arch}/seed{seed}.tsv"
        group:
            "run"  # one Slurm job per run: data -> train -> fixed points -> graph, continuation -> plots
        threads: 1
        resources:
            **run_resources("plot_run"),
        params:
            args=plot_run_args,
            task="{task}",  # task and arch: for the report's captions (workflow/report/)
            arch="{arch}",
        shell:
            "python workflow/scripts/plot_run.py {params.args} > {log} 2>&1"
