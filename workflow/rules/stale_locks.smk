"""Stale locks: a sweep killed outright (SIGKILL, an out-of-memory kill, a lost login node) leaves
``.snakemake/locks/`` behind, and Snakemake then refuses every later run until ``--unlock``.

Every main Snakemake process of this workflow holds a shared ``flock(2)`` on
``.snakemake/fixedpoints.alive`` for as long as it lives; the kernel drops it when the process dies,
however it dies. A starting process that can take that lock exclusively knows that no other run is
alive, so the Snakemake locks still present are stale: it removes them, saying so in one line, before
Snakemake checks them. While another run is alive nothing is touched, and Snakemake refuses the new
run with its usual "Directory cannot be locked" message. Jobs executed remotely (Slurm) skip this.
"""

import fcntl
import sys
import os
from pathlib import Path

_ALIVE_HANDLE = None   # open for the life of this process: its shared flock marks the run as alive


def clear_stale_locks(snakemake_dir=".snakemake"):
    """Remove the Snakemake locks left by dead runs; then mark this run alive (shared flock)."""
    global _ALIVE_HANDLE
    if not workflow.is_main_process or _ALIVE_HANDLE is not None:
        return
    folder = Path(snakemake_dir)
    try:
        folder.mkdir(exist_ok=True)
        handle = open(folder / "fixedpoints.alive", "a")
    except OSError:
        return   # a read-only folder: leave the locks to Snakemake
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass     # another run of this workflow is alive: its locks are real
    else:
        stale = sorted((folder / "locks").glob("*.lock"))
        for lock in stale:
            lock.unlink(missing_ok=True)
        if stale:
            print(f"removed {len(stale)} stale lock(s) in {folder / 'locks'} left by a killed run "
                  "(no other Snakemake run of this workflow is alive)", file=sys.stderr)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)   # blocks only while another starter briefly holds it exclusively
    except OSError:
        handle.close()
        return
    _ALIVE_HANDLE = handle


clear_stale_locks()
