"""Run a command within a time and memory budget, as a cluster scheduler would, and say so when it is not.

The command runs as a child process; every --poll-s seconds its wall time and the resident memory
(RSS) of it and all its descendants are checked. Past --runtime-min minutes, or above --mem-mb MB of
RSS, the whole process tree is killed with SIGKILL, one line ``error: ... budget ...`` naming the
budget and the attempt goes to stderr, and the exit status is 124 (time) or 137 (memory), like
`timeout` and the kernel's out-of-memory killer. Otherwise the exit status is the command's own.
A budget of 0 means no limit (Snakemake rounds a runtime below one minute to 0).
Snakemake then retries the job (``retries`` in the profile) with its ``attempt``-scaled resources.
Resident memory is measured, not the address space: JAX reserves far more virtual memory than it
uses, so ``ulimit -v`` would refuse jobs that fit.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import psutil


def tree_rss_mb(process: psutil.Process) -> float:
    """Resident memory of ``process`` and all its descendants, in MB (10^6 bytes, as Snakemake's mem_mb)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 1e6


def kill_tree(process: psutil.Process) -> None:
    """SIGKILL ``process`` and every descendant (children first, so none is re-parented and missed)."""
    try:
        victims = process.children(recursive=True)
    except psutil.Error:
        victims = []
    for p in [*victims, process]:
        try:
            p.kill()
        except psutil.Error:
            pass


def stop(process, child, reason: str, attempt: int, status: int) -> int:
    """Kill the job's process tree, say why in one line naming the budget and attempt, return ``status``."""
    kill_tree(process)
    child.wait()
    print(f"error: {reason} (attempt {attempt}); a retry gets attempt-scaled resources", file=sys.stderr, flush=True)
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime-min", type=float, required=True,
                        help="wall-time budget in minutes; 0: no limit (required)")
    parser.add_argument("--mem-mb", type=float, required=True,
                        help="resident-memory budget in MB; 0: no limit (required)")
    parser.add_argument("--attempt", type=int, default=1, help="attempt number, for the message (default: 1)")
    parser.add_argument("--poll-s", type=float, default=0.1, help="seconds between checks (default: 0.1)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    if args.runtime_min < 0 or args.mem_mb < 0:
        parser.error(f"budgets must be >= 0 (0: no limit), got --runtime-min {args.runtime_min} "
                     f"--mem-mb {args.mem_mb}")
    start = time.monotonic()
    child = subprocess.Popen(command)
    process = psutil.Process(child.pid)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):   # a scheduler's stop reaches the job
        signal.signal(sig, lambda signum, frame: child.send_signal(signum))
    name = os.path.basename(command[1] if len(command) > 1 and command[0].startswith("python") else command[0])
    while True:
        try:
            status = child.wait(timeout=args.poll_s)
            return status if status >= 0 else 128 - status
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - start
        if args.runtime_min and elapsed > 60 * args.runtime_min:
            return stop(process, child, f"{name} ran out of its time budget: killed after {elapsed:.1f} s > "
                        f"runtime={args.runtime_min:g} min", args.attempt, 124)
        rss = tree_rss_mb(process) if args.mem_mb else 0.0
        if args.mem_mb and rss > args.mem_mb:
            return stop(process, child, f"{name} ran out of its memory budget: killed at RSS {rss:.0f} MB > "
                        f"mem_mb={args.mem_mb:g}", args.attempt, 137)


if __name__ == "__main__":
    sys.exit(main())
