"""The default sweep against the seed tutorial's pipeline over the same runs, side by side, on the same cores.

Ours: ``snakemake --cores N`` in a temporary copy of the workflow from an empty ``results/`` (so the
compilation cache starts empty too): every run's data, training, fixed points (finder, memory census,
interval certificate), saddle–attractor graph, continuation and six figures (``run_figure_formats``:
PNG by default), and the summary. The seed's: ``bench/compare_seed/seed_runner.py`` (canns 1.5.0, its
venv) for every run of the same config — data, training, fixed points and the tutorial's two PCA
figures — N processes at a time.
With ``--runs-per-job K``, also the same sweep with the config's ``runs_per_job: K`` (the workflow's jobs of
K runs of one stage each, docs/sweep.md), alternately.
With ``--seed-work``, also our sweep asked for the tutorial's work only, alternately: Snakemake with each run's
``fixed_points.h5``, ``pca_2d.png`` and ``pca_3d.png`` as targets and ``run_figures: [pca_2d, pca_3d]`` (so
data, training, fixed points with their memory census and certificate, and the two PCA figures; no graph,
continuation, other figures or summary).
Every side gets the environment of the workflow's jobs (one XLA thread and one BLAS thread per process,
``MPLBACKEND=Agg``), so N processes use the N cores without oversubscription.

Prints, per repeat and as medians: the wall time, the CPU seconds of all processes (user + system,
from ``getrusage`` of the finished children), for ours also Snakemake's own CPU seconds and the
per-rule medians of its benchmark files; then the ratio seed / ours. The header line names the date,
the machine (``nproc``, the CPU model) and the load average before and after.

    bash bench/compare_seed/setup_env.sh                         # once: the canns venv
    python bench/sweep_vs_seed.py                                # config.yaml, --cores 2, 3 + 1 repeats
    python bench/sweep_vs_seed.py --seed-runs 6 --repeats 1      # a subset of the seed's runs (say so!)
    python bench/sweep_vs_seed.py --keep /tmp/sweep --repeats 1  # keep our results/ (bench/compare_results.py)
    git worktree add /tmp/prev REV && python bench/sweep_vs_seed.py --previous /tmp/prev --keep-previous /tmp/old
                                                                 # also an earlier revision, alternately
    python bench/sweep_vs_seed.py --runs-per-job 5               # also the sweep with runs_per_job: 5,
                                                                 # alternately
    python bench/sweep_vs_seed.py --seed-work                    # also ours doing the tutorial's work only

With ``--seed-runs K`` only the first K runs of each task go through the seed's pipeline (ours always
runs the whole sweep) and the seed's total is extrapolated as (its measured time) × (all runs / K),
printed as such.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "bench" / "compare_seed"
SEED_PYTHON = SEED_DIR / ".venv" / "bin" / "python"


def job_environment(cores: int) -> dict:
    """The environment of a workflow job (workflow/rules/common.smk, Snakemake's thread variables), with
    Python's default bytecode cache: a PYTHONDONTWRITEBYTECODE of the shell (this sandbox sets it) is
    dropped, else every job would compile the editable package's modules anew (≈ 0.2 s per process),
    which a normal installation does not (canns' modules are compiled by pip)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(XLA_FLAGS="--xla_cpu_multi_thread_eigen=false", MPLBACKEND="Agg")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                 "NUMEXPR_NUM_THREADS", "GOTO_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[name] = "1"
    return env


def machine_line() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, nproc {os.cpu_count()}, {model}"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_monitor(pid: int, out: dict, stop: threading.Event) -> None:
    """Sample the CPU seconds of process ``pid`` itself (not its children) until it ends."""
    import psutil

    try:
        process = psutil.Process(pid)
        while not stop.is_set():
            times = process.cpu_times()
            out["own_cpu_s"] = times.user + times.system
            time.sleep(0.2)
    except psutil.Error:
        pass


def run_ours(config: Path, cores: int, keep: Path | None, root: Path = ROOT, overrides: dict | None = None,
             targets: tuple[str, ...] = ()) -> dict:
    """The sweep of ``config`` (with ``overrides`` of its top-level keys; only ``targets`` if given, else all)
    from an empty results/ in a temporary copy of the workflow of ``root`` (this checkout, or one of an
    earlier revision, whose ``src`` the jobs then import)."""
    work = Path(tempfile.mkdtemp(prefix="sweep_vs_seed_"))
    env = job_environment(cores)
    if root != ROOT:
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), *filter(None, [env.get("PYTHONPATH")])])
    try:
        copy_workflow(root, {**yaml.safe_load(config.read_text()), **(overrides or {})}, work)
        cpu0, start = children_cpu(), time.perf_counter()
        with open(work / "snakemake.out", "w") as log:
            process = subprocess.Popen(["snakemake", *targets, "--cores", str(cores), "--quiet", "rules"], cwd=work,
                                       env=env, stdout=log, stderr=subprocess.STDOUT)
            own, stop = {}, threading.Event()
            monitor = threading.Thread(target=own_cpu_monitor, args=(process.pid, own, stop), daemon=True)
            monitor.start()
            code = process.wait()
            stop.set()
        wall, cpu = time.perf_counter() - start, children_cpu() - cpu0
        if code != 0:
            raise SystemExit(f"error: the sweep failed (exit {code}); log:\n"
                             + "\n".join((work / "snakemake.out").read_text().splitlines()[-30:]))
        rules = {}
        for rule_dir in sorted((work / "results" / "benchmarks").iterdir()):
            tables = [rule_dir] if rule_dir.is_file() else sorted(rule_dir.rglob("*.tsv"))
            walls = [float(pd.read_csv(t, sep="\t")["s"].iloc[0]) for t in tables]
            rules[rule_dir.name.removesuffix(".tsv")] = {"jobs": len(walls), "median_s": statistics.median(walls),
                                                         "sum_s": sum(walls)}
        keep_results(work, keep)
        return {"wall_s": wall, "cpu_s": cpu, "snakemake_cpu_s": own.get("own_cpu_s", float("nan")), "rules": rules}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def dry_run_commands(work: Path, env: dict, *options: str) -> list[str]:
    """The shell command of every job Snakemake would run in ``work`` (``--dry-run --printshellcmds``, plus
    ``options``), as the jobs run it: ``python workflow/scripts/NAME.py ARGS > LOG 2>&1``."""
    dry_run = subprocess.run(["snakemake", "--dry-run", "--printshellcmds", "--cores", "1", *options], cwd=work,
                             env=env, capture_output=True, text=True, check=True).stdout
    return [line.strip().removeprefix("Shell command: ") for line in dry_run.splitlines()
            if line.strip().removeprefix("Shell command: ").startswith("python workflow/scripts/")]


def copy_workflow(root: Path, config: dict, work: Path) -> None:
    """The workflow of checkout ``root`` with the settings ``config`` as its config.yaml, in folder ``work``."""
    shutil.copy2(root / "Snakefile", work / "Snakefile")
    shutil.copytree(root / "workflow", work / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink("workflow/profiles", work / "profiles")
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def keep_results(work: Path, keep: Path | None) -> None:
    """Copy ``work``'s results/ to ``keep`` (replacing it), if given."""
    if keep is not None:
        if keep.exists():
            shutil.rmtree(keep)
        shutil.copytree(work / "results", keep, symlinks=True)


def seed_runs(config: dict, per_task: int | None) -> list[dict]:
    """The runs of ``config`` (tanh or gru) as seed_runner arguments; the first ``per_task`` seeds of each task."""
    runs = []
    defaults = config.get("training", {})
    for task, settings in config["tasks"].items():
        for arch in config["architectures"]:
            if arch not in ("tanh", "gru"):
                raise SystemExit(f"error: architecture {arch!r}: the seed's pipeline has tanh and gru only")
            seeds = list(config["seeds"])[: per_task or None]
            for seed in seeds:
                training = {**defaults, **settings.get("training", {})}
                runs.append({"task": task, "arch": arch, "seed": int(seed), "n_bits": int(settings["n_bits"]),
                             "n_hidden": int(settings["n_hidden"]),
                             "learning_rate": float(training.get("learning_rate", 0.08)),
                             "max_epochs": int(training.get("max_epochs", 1000))})
    return runs


SEED_WORK = {"run_figures": ["pca_2d", "pca_3d"]}
"""The config overrides of our sweep doing the tutorial's work: its two figures, the PCA views."""


def seed_work_targets(config: dict) -> tuple[str, ...]:
    """The files of the tutorial's work in our sweep: each run's fixed points and its two PCA figures."""
    return tuple(f"results/{task}/{arch}/seed{seed}/{name}" for task in config["tasks"]
                 for arch in config["architectures"] for seed in config["seeds"]
                 for name in ("fixed_points.h5", "pca_2d.png", "pca_3d.png"))


def run_seed(runs: list[dict], cores: int) -> dict:
    """The seed's pipeline for every run, ``cores`` processes at a time."""
    work = Path(tempfile.mkdtemp(prefix="seed_pipeline_"))
    env = job_environment(cores)

    def one(run: dict) -> float:
        stem = work / f"{run['task']}_{run['arch']}_seed{run['seed']}"
        cmd = [str(SEED_PYTHON), str(SEED_DIR / "seed_runner.py"), "--n-bits", str(run["n_bits"]), "--n-hidden",
               str(run["n_hidden"]), "--seed", str(run["seed"]), "--rnn-type", run["arch"], "--learning-rate",
               str(run["learning_rate"]), "--max-epochs", str(run["max_epochs"]), "--out", f"{stem}.npz",
               "--figures", f"{stem}_figures"]
        t0 = time.perf_counter()
        with open(f"{stem}.log", "w") as log:
            code = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        if code != 0:
            raise SystemExit(f"error: {' '.join(cmd)} failed (exit {code}); log: {stem}.log")
        return time.perf_counter() - t0

    try:
        cpu0, start = children_cpu(), time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(cores) as pool:
            per_run = list(pool.map(one, runs))
        return {"wall_s": time.perf_counter() - start, "cpu_s": children_cpu() - cpu0, "n_runs": len(runs),
                "median_run_s": statistics.median(per_run)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def each(rows: list[dict], factor: float = 1.0) -> str:
    """The wall seconds of every repeat, comma-separated."""
    return ", ".join(f"{r['wall_s'] * factor:.1f}" for r in rows)


def report(record: dict) -> str:
    ours, seed = record["ours"], record["seed"]
    factor = record["n_runs_all"] / seed[0]["n_runs"] if seed else 1.0
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    lines = [record["header"], ""]
    lines.append("| side | repeats | runs | wall s (each) | median wall s | median CPU s | notes |")
    lines.append("|---|---:|---:|---|---:|---:|---|")
    lines.append(f"| ours: snakemake --cores {record['cores']} | {len(ours)} | {record['n_runs_all']} | "
                 f"{each(ours)} | {med(ours, 'wall_s'):.1f} | "
                 f"{med(ours, 'cpu_s'):.1f} | Snakemake itself {med(ours, 'snakemake_cpu_s'):.1f} CPU s |")
    if seed:
        extrapolated = f" (measured on {seed[0]['n_runs']} runs, × {factor:.2f})" if factor != 1 else ""
        lines.append(f"| seed tutorial (canns), {record['cores']} at a time | {len(seed)} | {record['n_runs_all']} | "
                     f"{each(seed, factor)} | {med(seed, 'wall_s') * factor:.1f} | "
                     f"{med(seed, 'cpu_s') * factor:.1f} | "
                     f"median run {med(seed, 'median_run_s'):.1f} s{extrapolated} |")
    previous = record.get("previous") or []
    if previous:
        lines.append(f"| previous revision ({record['previous_dir']}) | {len(previous)} | {record['n_runs_all']} | "
                     f"{each(previous)} | {med(previous, 'wall_s'):.1f} | {med(previous, 'cpu_s'):.1f} | "
                     f"Snakemake itself {med(previous, 'snakemake_cpu_s'):.1f} CPU s |")
    batched = record.get("batched") or []
    if batched:
        lines.append(f"| ours, runs_per_job: {record['runs_per_job']} | {len(batched)} | {record['n_runs_all']} | "
                     f"{each(batched)} | {med(batched, 'wall_s'):.1f} | {med(batched, 'cpu_s'):.1f} | "
                     f"Snakemake itself {med(batched, 'snakemake_cpu_s'):.1f} CPU s |")
    seed_work = record.get("seed_work") or []
    if seed_work:
        lines.append(f"| ours, the tutorial's work only (its two PCA figures, no graph, continuation or summary) | "
                     f"{len(seed_work)} | {record['n_runs_all']} | {each(seed_work)} | "
                     f"{med(seed_work, 'wall_s'):.1f} | {med(seed_work, 'cpu_s'):.1f} | "
                     f"Snakemake itself {med(seed_work, 'snakemake_cpu_s'):.1f} CPU s |")
    lines.append("")
    if seed_work and seed:
        lines.append(f"**seed / ours on the tutorial's work: "
                     f"{med(seed, 'wall_s') * factor / med(seed_work, 'wall_s'):.2f}× (wall), "
                     f"{med(seed, 'cpu_s') * factor / med(seed_work, 'cpu_s'):.2f}× (CPU)**"
                     + (" — the seed's side extrapolated" if factor != 1 else ""))
        lines.append("")
    if previous:
        lines.append(f"**previous / ours: {med(previous, 'wall_s') / med(ours, 'wall_s'):.2f}× (wall), "
                     f"{med(previous, 'cpu_s') / med(ours, 'cpu_s'):.2f}× (CPU)**")
        lines.append("")
    if batched:
        lines.append(f"**ours / runs_per_job {record['runs_per_job']}: "
                     f"{med(ours, 'wall_s') / med(batched, 'wall_s'):.2f}× (wall), "
                     f"{med(ours, 'cpu_s') / med(batched, 'cpu_s'):.2f}× (CPU)"
                     + (f"; seed / runs_per_job {record['runs_per_job']}: "
                        f"{med(seed, 'wall_s') * factor / med(batched, 'wall_s'):.2f}× (wall), "
                        f"{med(seed, 'cpu_s') * factor / med(batched, 'cpu_s'):.2f}× (CPU)" if seed else "") + "**"
                     + (" — the seed's side extrapolated" if factor != 1 else ""))
        lines.append("")
    if seed:
        lines.append(f"**seed / ours: {med(seed, 'wall_s') * factor / med(ours, 'wall_s'):.2f}× (wall), "
                     f"{med(seed, 'cpu_s') * factor / med(ours, 'cpu_s'):.2f}× (CPU)**"
                     + (" — the seed's side extrapolated" if factor != 1 else ""))
        lines.append("")
    lines.append("Our rules (median over repeats of the per-rule medians of Snakemake's benchmark files):")
    lines.append("")
    lines.append("| rule | jobs | median wall s per job | wall s, all jobs |"
                 + (" previous: per job | previous: all jobs |" if previous else ""))
    lines.append("|---|---:|---:|---:|" + ("---:|---:|" if previous else ""))
    for rule in ours[0]["rules"]:
        line = (f"| {rule} | {ours[0]['rules'][rule]['jobs']} | "
                f"{statistics.median(r['rules'][rule]['median_s'] for r in ours):.2f} | "
                f"{statistics.median(r['rules'][rule]['sum_s'] for r in ours):.1f} |")
        if previous and rule in previous[0]["rules"]:
            line += (f" {statistics.median(r['rules'][rule]['median_s'] for r in previous):.2f} | "
                     f"{statistics.median(r['rules'][rule]['sum_s'] for r in previous):.1f} |")
        lines.append(line)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml", help="the sweep")
    parser.add_argument("--cores", type=int, default=2, help="cores of both sides")
    parser.add_argument("--repeats", type=int, default=3, help="sweeps of ours")
    parser.add_argument("--seed-repeats", type=int, default=1,
                        help="passes of the seed's pipeline (0: none, to compare our sides only)")
    parser.add_argument("--seed-runs", type=int, default=None, metavar="K",
                        help="only the first K seeds of each task through the seed's pipeline (extrapolated)")
    parser.add_argument("--keep", type=Path, default=None, help="copy our last results/ here")
    parser.add_argument("--previous", type=Path, default=None, metavar="DIR",
                        help="also run the sweep of this checkout of an earlier revision (git worktree add DIR REV) "
                             "with its own config.yaml, as many times as ours, alternately")
    parser.add_argument("--keep-previous", type=Path, default=None, help="copy its last results/ here")
    parser.add_argument("--runs-per-job", type=int, default=0, metavar="K",
                        help="also run the sweep with runs_per_job: K (jobs of K runs of a stage), as many times as "
                             "ours, alternately")
    parser.add_argument("--keep-batched", type=Path, default=None, help="copy its last results/ here")
    parser.add_argument("--seed-work", action="store_true",
                        help="also run our sweep asked for the tutorial's work only, as many times as ours, "
                             "alternately")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    parser.add_argument("--report", type=Path, default=None, metavar="JSON", help="only reprint a saved --json")
    args = parser.parse_args(argv)
    if args.runs_per_job < 0:
        parser.error(f"--runs-per-job {args.runs_per_job}: expected a number of runs >= 1 (0: no such side)")
    if args.report:
        record = json.loads(args.report.read_text())
        if record.get("batched") and "runs_per_job" not in record:
            parser.error(f"--report {args.report}: its batched side is bench/task_runner.py's (runs_per_process), "
                         "written before revision ff66710; reprint it with that revision's sweep_vs_seed.py")
        print(report(record))
        return 0
    if not os.access(SEED_PYTHON, os.X_OK):
        raise SystemExit(f"error: {SEED_PYTHON} missing; run bash {SEED_DIR / 'setup_env.sh'} first")
    config = yaml.safe_load(args.config.read_text())
    n_all = len(seed_runs(config, None))
    runs = seed_runs(config, args.seed_runs)
    record = {"cores": args.cores, "n_runs_all": n_all, "ours": [], "seed": [], "previous": [], "batched": [],
              "seed_work": [], "previous_dir": str(args.previous or ""), "runs_per_job": args.runs_per_job}
    load_before, started = loadavg(), datetime.datetime.now().isoformat(timespec="minutes")
    order = (["ours", "previous", "batched", "seed_work"]
             + ["seed", "ours", "previous", "batched", "seed_work"] * max(args.seed_repeats, args.repeats - 1))
    counts = {"ours": args.repeats, "seed": args.seed_repeats, "previous": args.repeats if args.previous else 0,
              "batched": args.repeats if args.runs_per_job else 0, "seed_work": args.repeats if args.seed_work else 0}
    for side in order:
        if len(record[side]) >= counts[side]:
            continue
        print(f"[sweep_vs_seed] {side} {len(record[side]) + 1}/{counts[side]} (load {loadavg()}) ...",
              file=sys.stderr, flush=True)
        result = (run_ours(args.config, args.cores, args.keep) if side == "ours" else
                  run_ours(args.previous / "config.yaml", args.cores, args.keep_previous, args.previous)
                  if side == "previous" else
                  run_ours(args.config, args.cores, args.keep_batched, overrides={"runs_per_job": args.runs_per_job})
                  if side == "batched" else
                  run_ours(args.config, args.cores, None, overrides=SEED_WORK, targets=seed_work_targets(config))
                  if side == "seed_work" else
                  run_seed(runs, args.cores))
        print(f"[sweep_vs_seed] {side}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} s CPU", file=sys.stderr,
              flush=True)
        record[side].append(result)
    record["header"] = (f"{started} · {machine_line()} · load average before {load_before}, after {loadavg()} · "
                        f"{args.config.name}: {n_all} runs · --cores {args.cores}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))
    print(report(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
