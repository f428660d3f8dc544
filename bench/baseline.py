"""A past revision of the project, to benchmark beside the present one in the same run."""

import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def baseline_tree(revision: str, into: Path) -> Path:
    """``src/`` and ``workflow/scripts/`` of git ``revision``, extracted into ``into``/baseline (put its
    ``src`` first on PYTHONPATH to import that revision's fixedpoints)."""
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), revision, "src", "workflow/scripts"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "baseline", filter="data")
    return into / "baseline"
