"""Run many short ``snakemake`` commands from one interpreter that imports Snakemake once.

Reads one JSON object per line on stdin, ``{"cwd": folder, "args": [...], "stdout": file, "stderr": file}``;
for each, forks, and the child runs ``snakemake.cli.main(args)`` (what ``python -m snakemake ARGS`` runs) in
``cwd`` with its stdout and stderr sent to the two files. Prints ``{"returncode": N}`` per command, in order.

Used by `reliability_support.run_snakemake_many` for the tests that start Snakemake dozens of times only to
see it refuse a config at parse time: importing Snakemake is more than half of such a run (0.8 of 1.4 s).
This process imports nothing else and starts no thread, so forking it is safe (forking pytest's process,
which holds JAX's threads, would not be).
"""

import json
import os
import sys
import traceback

import snakemake.cli


def run_in_child(job: dict) -> int:
    """``snakemake ARGS`` of ``job`` in this (forked) process → its exit status."""
    try:
        os.chdir(job["cwd"])
        for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.argv = ["snakemake", *job["args"]]
        snakemake.cli.main(job["args"])
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)      # sys.exit("message"): printed and status 1, as the interpreter does
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def main() -> None:
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(run_in_child(job))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
