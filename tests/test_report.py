"""End to end: the tiny sweep's `snakemake --report` holds every figure, grouped and captioned,
and re-plotting gives byte-identical figure files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_FIGURES = ("stable_counts.png", "saddle_index.png", "training_curves.png")

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A copy of the workflow whose config.yaml is the tiny sweep (tests/sweep/config.yaml), run to the end."""
    workdir = tmp_path_factory.mktemp("report_sweep")
    shutil.copy(ROOT / "Snakefile", workdir / "Snakefile")
    shutil.copytree(ROOT / "workflow", workdir / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / "profiles").is_dir():
        shutil.copytree(ROOT / "profiles", workdir / "profiles")
    shutil.copy(ROOT / "tests" / "sweep" / "config.yaml", workdir / "config.yaml")
    snakemake(workdir)
    snakemake(workdir, "--report", "results/report.html")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    runs = [(task, arch, seed) for task in config["tasks"] for arch in config["architectures"]
            for seed in config["seeds"]]
    return workdir, runs


def report_variable(html: str, name: str):
    """The JSON value (object, array or string) of ``var <name> = ...`` in the report's script."""
    match = re.search(rf"^\s*var {name} = (?=[{{\[\"])", html, re.M)
    assert match, f"report has no variable {name}"
    return json.JSONDecoder().raw_decode(html, match.end())[0]


def test_report_contains_every_figure_grouped_and_captioned(sweep):
    workdir, runs = sweep
    html = (workdir / "results" / "report.html").read_text()
    results, categories = report_variable(html, "results"), report_variable(html, "categories")

    expected = {f"results/{t}/{a}/seed{s}/{name}": (t, a) for t, a, s in runs for name in ("pca_2d.png", "pca_3d.png")}
    expected.update({f"results/summary/{name}": ("summary", "all runs") for name in SUMMARY_FIGURES})
    for path, (category, subcategory) in expected.items():
        assert path in results, f"{path} missing from the report"
        assert path in categories[category][subcategory]
        entry = results[path]
        # the embedded image is the file itself: the report is self-contained
        prefix, _, data = entry["data_uri"].partition("base64,")
        assert prefix.startswith("data:image/png")
        assert base64.b64decode(data) == (workdir / path).read_bytes()
        caption = entry["caption"]
        assert len(caption) > 200 and "System Message" not in caption and "{{" not in caption
    for t, a, s in runs:
        assert f"task <strong>{t}</strong>\n(seed {s})" in results[f"results/{t}/{a}/seed{s}/pca_2d.png"]["caption"]
    assert "results/summary/runs.csv" in categories["summary"]["all runs"]
    # nothing is fetched from elsewhere when the report is opened
    assert not re.findall(r'<(?:script|img|link)[^>]*(?:src|href)="https?:', html)
    description = report_variable(html, "workflow_desc")       # workflow/report/workflow.rst, rendered
    assert "2^N stable fixed points" in description
    for task in {t for t, _, _ in runs}:
        assert f"<strong>{task}</strong>" in description


def test_replotting_gives_identical_files(sweep):
    workdir, runs = sweep
    figures = [workdir / f"results/{t}/{a}/seed{s}/{n}" for t, a, s in runs for n in ("pca_2d.png", "pca_3d.png")]
    figures += [workdir / "results/summary" / n for n in SUMMARY_FIGURES + ("stable_counts.pdf",)]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in figures}
    snakemake(workdir, "--forcerun", "plot_run", "aggregate")
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in figures}
    assert after == before
    assert all(p.stat().st_size > 1000 for p in figures)
