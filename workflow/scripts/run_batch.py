"""Run one stage's script for several runs, one after the other, in this one process.

    python workflow/scripts/run_batch.py SCRIPT RUNS

SCRIPT is one of the workflow's per-run scripts (``workflow/scripts/train.py``, ...); RUNS is a JSON list
with one entry per run: ``{"args": "--data ... --out ...", "log": LOG, "benchmark": TSV}``. Each run is
``main(args)`` of SCRIPT, called as its ``__main__`` calls it (``fixedpoints.cli.run_script``), with the
process's stdout and stderr (the file descriptors, so that XLA's messages go there too) sent to LOG:
the same code on the same arguments as the per-run job ``python SCRIPT ARGS > LOG 2>&1``, and the same
files bit for bit, without a process start, imports and JAX tracing per run (JAX traces a program once
per process and shape). This is what the workflow's ``runs_per_job`` setting runs (docs/sweep.md).

Each run's wall and CPU seconds go to TSV, columns ``s``, ``h:m:s`` and ``cpu_time`` as in Snakemake's
benchmark files, written atomically once the run has succeeded. The first run that fails ends the job
(exit 1) with one line naming its log; its traceback, if it is not a refused input, is in that log.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import os
import resource
import shlex
import sys
import time
import traceback
from pathlib import Path

from fixedpoints.cli import run_script
from fixedpoints.io import atomic_path


def script_main(path: str):
    """The ``main`` of workflow script ``path`` (its module imported under its own name)."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None:
        raise SystemExit(f"error: {path}: not a Python script")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@contextlib.contextmanager
def output_to(log: str):
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``log`` inside the block."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(main, args: list[str]) -> int:
    """``main(args)`` as the script's ``__main__`` runs it; its exit code (a traceback goes to stderr)."""
    try:
        return run_script(main, args)
    except SystemExit as stop:            # argparse's refusal (its message is already on stderr), or exit()
        if isinstance(stop.code, int) or stop.code is None:
            return stop.code or 0
        print(stop.code, file=sys.stderr)  # as the interpreter does with a message it exits on
        return 1
    except Exception:                     # a bug, not bad input: its traceback in the run's log
        traceback.print_exc()
        return 1


def write_benchmark(path: str, wall_s: float, cpu_s: float) -> None:
    """One run's times as a Snakemake-style benchmark table (``s``, ``h:m:s``, ``cpu_time``)."""
    hms = str(datetime.timedelta(seconds=round(wall_s)))
    with atomic_path(path) as tmp_path:
        tmp_path.write_text(f"s\th:m:s\tcpu_time\n{wall_s:.4f}\t{hms}\t{cpu_s:.4f}\n")


def parse_runs(text: str) -> list[dict]:
    """RUNS: a JSON list of {"args": str, "log": str, "benchmark": str}; one line naming what is wrong."""
    try:
        runs = json.loads(text)
    except json.JSONDecodeError as error:
        raise SystemExit(f"error: RUNS: not JSON ({error})") from None
    keys = {"args", "log", "benchmark"}
    if not isinstance(runs, list) or not runs or not all(isinstance(run, dict) and set(run) == keys
                                                         and all(isinstance(v, str) for v in run.values())
                                                         for run in runs):
        raise SystemExit(f"error: RUNS: expected a non-empty JSON list of objects with the string keys "
                         f"{sorted(keys)}")
    return runs


def main(argv=None) -> int:
    """Run SCRIPT's ``main`` for every run of RUNS; 0 when all succeed, 1 at the first failure."""
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    script, runs = args[0], parse_runs(args[1])
    if not Path(script).is_file():
        print(f"error: {script}: script not found", file=sys.stderr)
        return 1
    main_of_script = script_main(script)
    for number, run in enumerate(runs, 1):
        print(f"run {number}/{len(runs)}: {Path(script).name} {run['args']} > {run['log']}", file=sys.stderr)
        start_wall, start_cpu = time.perf_counter(), cpu_seconds()
        with output_to(run["log"]):
            code = run_one(main_of_script, shlex.split(run["args"]))
        if code:
            print(f"error: {Path(script).name} failed (exit {code}) for run {number}/{len(runs)}; "
                  f"its log: {run['log']}", file=sys.stderr)
            return 1
        write_benchmark(run["benchmark"], time.perf_counter() - start_wall, cpu_seconds() - start_cpu)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)      # as the per-run scripts (fixedpoints.cli.exit_script): no interpreter teardown
