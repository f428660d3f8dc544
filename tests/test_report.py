"""End to end: the tiny sweep's `snakemake --report` holds every figure, grouped and captioned,
and re-plotting gives byte-identical figure files."""

from __future__ import annotations

import base64
import importlib.util
import re

import pytest

from fixedpoints import plotting
from fixedpoints.branches import load_continuation
from fixedpoints.plotting.bifurcation import plot_bifurcation
from fixedpoints.plotting.graph import plot_graph_run
from fixedpoints.plotting.run import run_title
from reliability_support import report_variable

SUMMARY_FIGURES = ("stable_counts", "saddle_index", "training_curves", "topology_classes")
RUN_FIGURES = {"fixed_points": "main", "readout": "readout", "pca_2d": "pca_2d", "pca_3d": "pca_3d",   # file: view
               "graph": "graph", "bifurcation": "bifurcation"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tiny_sweep):
    """The session's tiny sweep (tests/conftest.py), with its report: (workdir, [(task, arch, seed)])."""
    workdir, config = tiny_sweep
    runs = [(task, arch, seed) for task in config["tasks"] for arch in config["architectures"]
            for seed in config["seeds"]]
    return workdir, runs


def test_report_contains_every_figure_grouped_and_captioned(sweep):
    workdir, runs = sweep
    html = (workdir / "results" / "report.html").read_text()
    results, categories = report_variable(html, "results"), report_variable(html, "categories")

    expected = {f"results/{t}/{a}/seed{s}/{name}.png": (t, a) for t, a, s in runs for name in RUN_FIGURES}
    expected.update({f"results/summary/{name}.png": ("summary", "all runs") for name in SUMMARY_FIGURES})
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
        for name in RUN_FIGURES:
            entry = results[f"results/{t}/{a}/seed{s}/{name}.png"]
            assert f"{a} network of task <strong>{t}</strong>" in " ".join(entry["caption"].split()), name
            assert entry["labels"]["seed"] == str(s), name
        # the main figure's caption names the view its task uses (2 bits: PCA)
        assert "PCA 2D view" in results[f"results/{t}/{a}/seed{s}/fixed_points.png"]["caption"]
    assert "results/summary/runs.csv" in categories["summary"]["all runs"]
    # nothing is fetched from elsewhere when the report is opened
    assert not re.findall(r'<(?:script|img|link)[^>]*(?:src|href)="https?:', html)
    description = report_variable(html, "workflow_desc")       # workflow/report/workflow.rst, rendered
    assert "2^N stable fixed points" in description
    for task in {t for t, _, _ in runs}:
        assert f"<strong>{task}</strong>" in description


def test_replotting_gives_identical_files(sweep, tmp_path):
    """Figures drawn again in this process equal, byte for byte, those the sweep's jobs wrote (PNG and PDF)."""
    workdir, runs = sweep
    for t, a, s in runs:
        folder = workdir / "results" / t / a / f"seed{s}"
        figures = plotting.plot_run(folder / "model.h5", folder / "fixed_points.h5")
        figures["graph"] = plot_graph_run(folder / "graph.h5", folder / "fixed_points.h5", folder / "model.h5",
                                          title=run_title(folder / "model.h5"))
        figures["bifurcation"] = plot_bifurcation(load_continuation(folder / "continuation.h5"))
        for name, view in RUN_FIGURES.items():      # as the job saves them: one layout for PNG and PDF
            again = plotting.save_figures(figures[view], [tmp_path / f"{t}_{a}_{s}_{name}{suffix}"
                                                          for suffix in (".png", ".pdf")])
            for path, suffix in zip(again, (".png", ".pdf")):
                expected = (folder / f"{name}{suffix}").read_bytes()
                assert path.read_bytes() == expected and len(expected) > 1000, f"{folder / name}{suffix} differs"
    spec = importlib.util.spec_from_file_location("aggregate_script", workdir / "workflow/scripts/aggregate.py")
    aggregate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aggregate)
    run_dirs = [str(workdir / "results" / t / a / f"seed{s}") for t, a, s in runs]
    summary = tmp_path / "summary"
    aggregate.main(["--runs", *run_dirs, "--benchmarks", str(workdir / "results/benchmarks"),
                    "--runs-csv", str(summary / "runs.csv"), "--provenance", str(summary / "provenance.csv"),
                    *[argument for figure in SUMMARY_FIGURES for argument in
                      ("--" + figure.replace("_", "-"), str(summary / f"{figure}.png"),
                       str(summary / f"{figure}.pdf"))]])
    for name in [f"{figure}{suffix}" for figure in SUMMARY_FIGURES for suffix in (".png", ".pdf")]:
        expected = (workdir / "results/summary" / name).read_bytes()
        assert (tmp_path / "summary" / name).read_bytes() == expected and len(expected) > 1000, name
