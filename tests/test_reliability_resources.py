"""Job budgets: workflow/scripts/within_budget.py kills a job past its time or resident-memory budget,
as a scheduler would, with one line naming the budget and the attempt; otherwise it is transparent.

(The end-to-end retry with attempt-scaled resources is in test_reliability_sweep.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

WRAPPER = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "within_budget.py"


def within_budget(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WRAPPER), *args], capture_output=True, text=True, timeout=timeout_s)


def test_command_within_budget_keeps_its_output_and_exit_status():
    result = within_budget("--runtime-min", "1", "--mem-mb", "1000", "--", sys.executable, "-c",
                           "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)")
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_time_budget_kills_the_whole_tree_and_says_so(tmp_path):
    """A job that outlives runtime (here 0.02 min = 1.2 s) is killed with its children; exit 124."""
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! > {pids}; wait"
    start = time.monotonic()
    result = within_budget("--runtime-min", "0.02", "--mem-mb", "1000", "--attempt", "2", "--", "bash", "-c", script)
    elapsed = time.monotonic() - start
    assert result.returncode == 124
    assert 1.2 <= elapsed < 20
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bash ran out of its time budget")
    assert "runtime=0.02 min" in lines[0] and "attempt 2" in lines[0]
    grandchild = int(pids.read_text())
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_memory_budget_counts_resident_memory_of_the_tree_and_says_so():
    """A child that touches 300 MB under a 150 MB budget is killed; exit 137 like the OOM killer."""
    grow = "import time; block = b'x' * 300_000_000; time.sleep(30)"
    result = within_budget("--runtime-min", "1", "--mem-mb", "150", "--", "bash", "-c",
                           f"{sys.executable} -c \"{grow}\"")
    assert result.returncode == 137
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ran out of its memory budget" in lines[0]
    rss = float(lines[0].split("RSS ")[1].split(" MB")[0])
    assert rss > 150 and "mem_mb=150 (attempt 1)" in lines[0]


def test_large_virtual_reservations_are_not_counted():
    """Address space reserved but not touched (as JAX does) stays within a small resident budget."""
    reserve = "import mmap, time; m = mmap.mmap(-1, 4_000_000_000); time.sleep(1)"
    result = within_budget("--runtime-min", "1", "--mem-mb", "200", "--", sys.executable, "-c", reserve)
    assert result.returncode == 0, result.stderr


def test_zero_budget_means_no_limit():
    """Snakemake rounds a runtime below a minute to 0: that must not kill (or refuse) every job."""
    result = within_budget("--runtime-min", "0", "--mem-mb", "0", "--", sys.executable, "-c",
                           "import time; block = b'x' * 50_000_000; time.sleep(0.5)")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args", [["--runtime-min", "-1", "--mem-mb", "10", "--", "true"],
                                  ["--runtime-min", "1", "--mem-mb", "10"]])
def test_bad_arguments_are_refused(args):
    result = within_budget(*args)
    assert result.returncode == 2 and "error:" in result.stderr
