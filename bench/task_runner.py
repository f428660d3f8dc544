"""Run workflow job commands one after the other in this one process (for bench/sweep_vs_seed.py --runs-per-process).

    python bench/task_runner.py JOBS.json

JOBS.json holds a list of the shell commands Snakemake gives the per-run jobs,
``python workflow/scripts/NAME.py ARGS > LOG 2>&1``, in an order that respects their inputs. Each is run
as its script's ``main(ARGS)`` in this process, with stdout and stderr (the file descriptors, so that
XLA's messages go there too) sent to LOG: the same code on the same arguments, without a process
start, imports and JAX tracing per job (JAX's compiled programs are traced once per process and
shape). It measures what several runs per process would save; the workflow itself keeps one process
per job. Each job's script and wall seconds go to JOBS.times.json.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
import time
from pathlib import Path

from fixedpoints.cli import run_script


_SCRIPTS: dict = {}


def script_module(path: str):
    """The module of workflow script ``path``, imported once per process."""
    if path not in _SCRIPTS:
        spec = importlib.util.spec_from_file_location(Path(path).stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _SCRIPTS[path] = module
    return _SCRIPTS[path]


def run_job(command: str) -> int:
    """Run one ``python SCRIPT ARGS > LOG 2>&1`` command in this process (folders made as Snakemake does),
    as the script's ``__main__`` does (``fixedpoints.cli.run_script``); its exit code."""
    words = shlex.split(command)
    if len(words) < 5 or words[0] != "python" or words[-3] != ">" or words[-1] != "2>&1":
        raise SystemExit(f"error: not a 'python SCRIPT ARGS > LOG 2>&1' command: {command}")
    script, args, log = words[1], words[2:-3], words[-2]
    for word in [*args, log]:
        if word.startswith("results/"):
            Path(word).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    try:
        return run_script(script_module(script).main, args)
    except SystemExit as stop:            # argparse's refusal
        return stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def main(argv=None) -> int:
    """Run the jobs of JOBS.json; write each one's script and wall seconds to JOBS.times.json."""
    (jobs_file,) = argv if argv is not None else sys.argv[1:]
    times = []
    for command in json.loads(Path(jobs_file).read_text()):
        start = time.perf_counter()
        code = run_job(command)
        if code:
            print(f"error: {command} exited with {code}", file=sys.stderr)
            return 1
        times.append([Path(command.split()[1]).stem, time.perf_counter() - start])
    Path(jobs_file).with_suffix(".times.json").write_text(json.dumps(times))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)      # as the workflow's scripts (fixedpoints.cli.exit_script): no interpreter teardown
