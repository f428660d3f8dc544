# Jobs of several runs (config runs_per_job > 1, docs/sweep.md): for every group of runs_per_job seeds of a
# task and architecture, one job per per-run rule runs that rule's script for each run of the group, one
# after the other in one process (workflow/scripts/run_batch.py), so the group pays one process start,
# one set of imports and one JAX tracing per stage instead of one per run. Each run keeps its files, its
# log and its benchmark file (written by run_batch.py), bit for bit the files of the per-run jobs. These
# rules name every file they write (no wildcards), so Snakemake prefers them to the per-run rules.

for number, (task, arch, seeds) in enumerate(run_batches()):
    group_name = f"{task}/{arch}/seeds{seeds[0]}-{seeds[-1]}"
    for rule_name in run_stages():
        jobs = batch_jobs(rule_name, task, arch, seeds)

        rule:
            name:
                f"{rule_name}_batch{number}"
            input:
                [path for job in jobs for path in job.input.values()],
            output:
                [path for job in jobs for path in job.output.values()],
                benchmarks=[job.benchmark for job in jobs],
            log:
                runs=[job.log for job in jobs],
                batch=f"results/logs/batches/{rule_name}/{group_name}.log",
            benchmark:
                f"results/benchmarks/batches/{rule_name}/{group_name}.tsv"
            group:
                "run"  # one Slurm job per group of runs
            threads: 1
            resources:
                **run_resources(rule_name, len(seeds)),
            params:
                script=f"workflow/scripts/{rule_name}.py",
                task=task,  # task and arch: for the report's captions (workflow/report/)
                arch=arch,
                runs=json.dumps([{"args": job.args, "log": job.log, "benchmark": job.benchmark} for job in jobs]),
            shell:
                "python workflow/scripts/run_batch.py {params.script} {params.runs:q} > {log.batch} 2>&1"
