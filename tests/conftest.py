"""Shared test settings (a quiet, deterministic JAX on the CPU) and the tiny sweep shared by the
end-to-end modules."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reliability_support import make_workdir, snakemake_env

os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """The tiny sweep (tests/sweep/config.yaml) in a copy of the workflow, run to the end once per session,
    then its report: (workdir, config). Tests that change its files leave them complete again (a deleted
    model is made again by the same code, bit for bit)."""
    config = yaml.safe_load((ROOT / "tests" / "sweep" / "config.yaml").read_text())
    workdir = make_workdir(tmp_path_factory.mktemp("sweep"), config)
    for args in ([], ["--report", "results/report.html"]):
        result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
                                env=snakemake_env(), capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir, config
