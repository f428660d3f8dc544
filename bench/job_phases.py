"""Where a sweep job's time goes, by phase, and one run as cold processes against the seed's pipeline.

1. A small sweep (config.yaml restricted to ``--seeds``, default 0 and 1: six runs, with one job per run
   and stage, ``runs_per_job: 1``) runs once in a temporary copy of the workflow, which makes every job's
   inputs and fills the compilation cache.
2. Every job of those runs then runs again as Snakemake runs it (the exact command of ``snakemake -n
   -p``, its environment) but under bench/job_probe.py, which splits its time into: process start and
   exit (the wall time outside the script), imports, compilation (JAX tracing, lowering, and XLA
   compiling or loading from the persistent cache), HDF5 I/O, figure rendering (savefig) and the rest,
   compute. Once with the compilation cache ("cached", as every job of a sweep but the first of its
   kind) and once without ("cold"). Medians over the runs and ``--repeats`` per rule, also the CPU
   seconds and the number of compiled programs.
3. Target "one run cold": the data, training and fixed-point jobs of one run (``--run``, default
   3bit seed 1, a run of median length) as three fresh processes without a compilation cache, against
   the seed's pipeline for the same run (bench/compare_seed/seed_runner.py: data, training, fixed
   points; a fresh process with its imports), alternately, ``--seed-repeats`` times. Both sides get
   the jobs' environment (one XLA and one BLAS thread).

    python bench/job_phases.py [--repeats 3] [--seed-repeats 3] [--run 3bit:1] [--json phases.json]
    python bench/job_phases.py --report phases.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "bench" / "job_probe.py"
SEED_DIR = ROOT / "bench" / "compare_seed"
sys.path.insert(0, str(ROOT / "bench"))
from sweep_vs_seed import (SEED_PYTHON, children_cpu, copy_workflow, dry_run_commands, each,  # noqa: E402
                           job_environment, loadavg, machine_line)

OUTPUT_OPTION = re.compile(r"--(out(-main|-readout|-2d|-3d|-graph|-bifurcation)?|runs-csv|provenance|stable-counts|"
                           r"saddle-index|training-curves|topology-classes)")
PHASES = ("start_exit", "imports", "compile", "io", "render", "compute")
RULE_ORDER = ("generate_data", "train", "find_fixed_points", "topology", "continuation", "plot_run", "aggregate")


def make_sweep(seeds: list[int], work: Path) -> None:
    """The default sweep restricted to ``seeds``, one job per run and stage, run once in ``work`` (inputs of
    every job, cache filled)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    copy_workflow(ROOT, {**config, "seeds": seeds, "runs_per_job": 1}, work)
    result = subprocess.run(["snakemake", "--cores", "2", "--quiet", "rules"], cwd=work, env=job_environment(2),
                            capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"error: the preparing sweep failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def job_commands(work: Path) -> list[tuple[str, list[str]]]:
    """(rule, argv) of every job, as ``snakemake -n -p --forceall`` prints it (without the log redirection)."""
    jobs = []
    for command in dry_run_commands(work, job_environment(2), "--forceall"):
        script, *argv = shlex.split(command.split(" > ")[0])[1:]
        jobs.append((Path(script).stem, [script, *argv]))
    return jobs


def redirect_outputs(argv: list[str], scratch: Path) -> list[str]:
    """``argv`` with every output file moved into ``scratch`` (the inputs stay the sweep's)."""
    out, writing = [], False
    for arg in argv:
        if arg.startswith("--"):
            writing = bool(OUTPUT_OPTION.fullmatch(arg))
            out.append(arg)
        elif writing:
            out.append(str(scratch / arg.replace("/", "_")))
        else:
            out.append(arg)
    return out


def probe(argv: list[str], work: Path, env: dict, scratch: Path) -> dict:
    """Run one job under job_probe.py; its phases plus the parent's wall and CPU seconds."""
    record_path = scratch / "probe.json"
    cpu0, start = children_cpu(), time.perf_counter()
    result = subprocess.run([sys.executable, str(PROBE), str(record_path), *argv], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu0
    if result.returncode:
        raise SystemExit(f"error: {' '.join(argv[:1])} failed:\n{result.stderr[-3000:]}")
    record = json.loads(record_path.read_text())
    record.pop("per_program", None)
    return {**record, "wall_s": wall, "cpu_s": cpu, "start_exit": wall - record["inproc_s"]}


def cold_env(env: dict) -> dict:
    return {k: v for k, v in env.items() if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE"))}


def cached_env(env: dict) -> dict:
    """The sweep's cache, named as its jobs name it: JAX's cache key holds the folder's name as given
    (XLA's own caches are placed inside it), so another spelling of the same folder misses every entry."""
    return {**env, "JAX_COMPILATION_CACHE_DIR": "results/.jax_cache",
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


def seed_run(task: dict, env: dict, scratch: Path) -> dict:
    """The seed's pipeline for one run (data, training, fixed points) in a fresh process."""
    cmd = [str(SEED_PYTHON), str(SEED_DIR / "seed_runner.py"), "--n-bits", str(task["n_bits"]), "--n-hidden",
           str(task["n_hidden"]), "--seed", str(task["seed"]), "--out", str(scratch / "seed.npz")]
    cpu0, start = children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu0
    if result.returncode:
        raise SystemExit(f"error: the seed's pipeline failed:\n{result.stderr[-3000:]}")
    import numpy as np

    with np.load(scratch / "seed.npz") as f:
        return {"wall_s": wall, "cpu_s": cpu, "train_s": float(f["train_s"]), "find_s": float(f["find_s"]),
                "epochs": int(f["epochs"])}


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(record: dict) -> str:
    lines = [record["header"], ""]
    for mode in ("cached", "cold"):
        rows = record["jobs"][mode]
        lines.append(f"Per job, {mode} ({'with' if mode == 'cached' else 'without'} the compilation cache): "
                     f"median seconds over {record['n_runs']} runs × {record['repeats']} repeats (phases: wall "
                     f"seconds, exclusive).")
        lines.append("")
        lines.append("| rule | jobs | wall s | CPU s | start + exit | imports | compile (programs) | I/O | render "
                     "| compute |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        total = {key: 0.0 for key in ("wall_s", "cpu_s", *PHASES)}
        for rule in RULE_ORDER:
            jobs = [r for r in rows if r["rule"] == rule]
            if not jobs:
                continue
            per_run = 1 if rule == "aggregate" else None
            lines.append(f"| {rule} | {len(jobs)} | {med(jobs, 'wall_s'):.2f} | {med(jobs, 'cpu_s'):.2f} | "
                         f"{med(jobs, 'start_exit'):.2f} | {med(jobs, 'imports'):.2f} | {med(jobs, 'compile'):.2f} "
                         f"({med(jobs, 'programs'):.0f}) | {med(jobs, 'io'):.3f} | {med(jobs, 'render'):.2f} | "
                         f"{med(jobs, 'compute'):.2f} |")
            if per_run is None:
                for key in total:
                    total[key] += med(jobs, key)
        lines.append(f"| **one run** (6 jobs) | | **{total['wall_s']:.2f}** | **{total['cpu_s']:.2f}** | "
                     f"{total['start_exit']:.2f} | {total['imports']:.2f} | {total['compile']:.2f} | "
                     f"{total['io']:.3f} | {total['render']:.2f} | {total['compute']:.2f} |")
        lines.append("")
    cold, seed = record["cold_run"], record["seed_run"]
    if cold and seed:
        run = record["run"]
        lines.append(f"One run as cold processes ({run['task']} seed {run['seed']}: data, training, fixed points; "
                     f"no compilation cache) against the seed's pipeline (one process: imports, data, training, "
                     f"fixed points), medians of {len(cold)} / {len(seed)}, alternately:")
        lines.append("")
        lines.append("| side | wall s (each) | median wall s | median CPU s | notes |")
        lines.append("|---|---|---:|---:|---|")
        lines.append(f"| ours: 3 processes | {each(cold)} | "
                     f"{med(cold, 'wall_s'):.2f} | {med(cold, 'cpu_s'):.2f} | data {med(cold, 'data_s'):.2f}, train "
                     f"{med(cold, 'train_s'):.2f}, fixed points {med(cold, 'find_s'):.2f} s |")
        lines.append(f"| seed tutorial (canns) | {each(seed)} | "
                     f"{med(seed, 'wall_s'):.2f} | {med(seed, 'cpu_s'):.2f} | inside: training "
                     f"{med(seed, 'train_s'):.1f} s ({seed[0]['epochs']} epochs), finder {med(seed, 'find_s'):.1f} s |")
        lines.append("")
        lines.append(f"**seed / ours: {med(seed, 'wall_s') / med(cold, 'wall_s'):.2f}× (wall), "
                     f"{med(seed, 'cpu_s') / med(cold, 'cpu_s'):.2f}× (CPU)**")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seeds", default="0,1", help="seeds of the small sweep whose jobs are timed")
    parser.add_argument("--repeats", type=int, default=3, help="times each job runs per mode")
    parser.add_argument("--run", default="3bit:1", help="task:seed of the cold-run comparison")
    parser.add_argument("--seed-repeats", type=int, default=3, help="cold runs of each side (0: no comparison)")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--report", type=Path, default=None, metavar="JSON", help="only reprint a saved --json")
    args = parser.parse_args(argv)
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    task_name, run_seed = args.run.split(":")
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    if task_name not in config["tasks"]:
        raise SystemExit(f"error: --run {args.run}: task {task_name!r} is not in config.yaml")
    if args.seed_repeats and not os.access(SEED_PYTHON, os.X_OK):
        raise SystemExit(f"error: {SEED_PYTHON} missing; run bash {SEED_DIR / 'setup_env.sh'} first")
    work = Path(tempfile.mkdtemp(prefix="job_phases_"))
    scratch = work / "scratch"
    started, load_before = datetime.datetime.now().isoformat(timespec="minutes"), loadavg()
    try:
        make_sweep(sorted(set(seeds) | {int(run_seed)}), work)
        scratch.mkdir()
        env = job_environment(2)
        jobs = job_commands(work)
        record = {"repeats": args.repeats, "n_runs": len(seeds) * len(config["tasks"]),
                  "jobs": {"cached": [], "cold": []}, "cold_run": [], "seed_run": []}
        timed = [(rule, argv) for rule, argv in jobs
                 if rule == "aggregate" or any(f"/seed{s}/" in " ".join(argv) for s in seeds)]
        for repeat in range(args.repeats):
            for mode, mode_env in (("cached", cached_env(env)), ("cold", cold_env(env))):
                print(f"[job_phases] {mode} {repeat + 1}/{args.repeats}: {len(timed)} jobs (load {loadavg()})",
                      file=sys.stderr, flush=True)
                for rule, argv in timed:
                    record["jobs"][mode].append({"rule": rule, **probe(redirect_outputs(argv, scratch), work,
                                                                        mode_env, scratch)})
        run_jobs = {rule: argv for rule, argv in jobs if f"/{task_name}/tanh/seed{run_seed}/" in " ".join(argv)}
        task = {"task": task_name, "seed": int(run_seed), "n_bits": config["tasks"][task_name]["n_bits"],
                "n_hidden": config["tasks"][task_name]["n_hidden"]}
        record["run"] = task
        for repeat in range(args.seed_repeats):
            print(f"[job_phases] one run cold {repeat + 1}/{args.seed_repeats} (load {loadavg()})", file=sys.stderr,
                  flush=True)
            parts = {}
            for rule, key in (("generate_data", "data_s"), ("train", "train_s"), ("find_fixed_points", "find_s")):
                # outputs redirected: each job reads the sweep's inputs, the same bytes the job before writes
                parts[key] = probe(redirect_outputs(run_jobs[rule], scratch), work, cold_env(env), scratch)
            record["cold_run"].append({"wall_s": sum(p["wall_s"] for p in parts.values()),
                                       "cpu_s": sum(p["cpu_s"] for p in parts.values()),
                                       **{k: p["wall_s"] for k, p in parts.items()}})
            record["seed_run"].append(seed_run(task, env, scratch))
        record["header"] = (f"{started} · {machine_line()} · load average before {load_before}, after {loadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))
    print(report(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
