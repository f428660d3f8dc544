"""End-to-end faults of a sweep: diverging and unconverged training, determinism, SIGKILLed sweeps
(resumed after `snakemake --unlock`), a concurrent second run, a corrupted input file under
--keep-going, and resources that schedule local jobs without stopping them.

All of them run the real ``snakemake`` (with the workflow's default profile) in throw-away copies of
the workflow, on one small sweep of three runs that share everything but their training settings:

* ``2bit``: trains to the loss target (converged);
* ``wild``: learning rate 1e20, so the first epoch's loss is infinite (diverged);
* ``short``: three epochs, far from the target (not converged, still analysed).

The uninterrupted sweep (``reference``, --cores 2) is the expected output of every other sweep.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from reliability_support import (SEALED_DAMAGE, assert_same_outputs, fast_config, flip_inside_dataset, h5_contents,
                                 kill_group, make_workdir, result_files, run_snakemake, start_snakemake, wait_for)

pytestmark = pytest.mark.slow

TASKS = {"2bit": {"n_bits": 2, "n_hidden": 3},
         "wild": {"n_bits": 2, "n_hidden": 3, "training": {"learning_rate": 1.0e20}},
         "short": {"n_bits": 2, "n_hidden": 3, "training": {"max_epochs": 3}}}
CONFIG = fast_config(seeds=(0,), tasks=TASKS)
RUNS = [f"results/{task}/tanh/seed0" for task in TASKS]
LOCK_MESSAGE = "Directory cannot be locked"


def run_dir(workdir: Path, task: str) -> Path:
    return workdir / f"results/{task}/tanh/seed0"


def sweep(workdir: Path, *args: str, cores: int = 2):
    result = run_snakemake(workdir, *args, cores=cores)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


def unlock(workdir: Path) -> None:
    """``snakemake --unlock``: remove the lock a killed run left behind."""
    result = run_snakemake(workdir, "--unlock", timeout_s=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def seed_compilation_cache(source: Path, workdir: Path) -> None:
    """Start a sweep with the reference's JAX compilation cache (faster; the numbers must not change)."""
    cache = source / "results" / ".jax_cache"
    if cache.is_dir():
        shutil.copytree(cache, workdir / "results" / ".jax_cache")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep from an empty results/, two jobs at a time."""
    workdir = make_workdir(tmp_path_factory.mktemp("reference"), CONFIG)
    sweep(workdir, cores=2)
    return workdir


def assert_no_partial_outputs(workdir: Path, but: tuple[Path, ...] = ()) -> None:
    """Every file at a final output path (``but`` these) is complete: each HDF5 file opens and all its
    data reads, each figure ends with its format's end marker."""
    for name in result_files(workdir):
        if workdir / name in but:
            continue
        if name.suffix == ".h5":
            h5_contents(workdir / name)   # raises on a truncated or half-written file
        elif name.suffix == ".png":
            assert (workdir / name).read_bytes().endswith(b"IEND\xaeB`\x82"), name
        elif name.suffix == ".pdf":
            assert (workdir / name).read_bytes().rstrip().endswith(b"%%EOF"), name


# -- 4. diverging and unconverged training ---------------------------------------------------------

def test_diverged_run_is_recorded_and_skipped_and_the_sweep_goes_on(reference):
    with h5py.File(run_dir(reference, "wild") / "model.h5") as f:
        training = f["training"]
        assert bool(training.attrs["diverged"]) and not bool(training.attrs["converged"])
        assert not np.isfinite(training["train_loss"][-1])
        assert all(np.all(np.isfinite(f["params"][k][()])) for k in f["params"])   # last finite weights kept
    with h5py.File(run_dir(reference, "wild") / "fixed_points.h5") as f:
        assert "diverged" in str(f.attrs["skipped_reason"])
        assert f["unique/xstar"].shape[0] == 0 and f["all/xstar"].shape[0] == 0
    assert (run_dir(reference, "wild") / "pca_2d.png").is_file()
    table = pd.read_csv(reference / "results/summary/runs.csv").set_index("task")
    assert bool(table.loc["wild", "diverged"]) and pd.isna(table.loc["wild", "n_fixed_points"])
    assert not table.loc["2bit", "diverged"] and table.loc["2bit", "converged"]


def test_unconverged_run_is_still_analysed(reference):
    with h5py.File(run_dir(reference, "short") / "model.h5") as f:
        training = f["training"]
        assert int(training.attrs["epochs"]) == 3 and len(training["train_loss"]) == 3
        assert not bool(training.attrs["converged"]) and not bool(training.attrs["diverged"])
        assert training.attrs["final_train_loss"] > CONFIG["training"]["min_loss"]
    with h5py.File(run_dir(reference, "short") / "fixed_points.h5") as f:
        assert "skipped_reason" not in f.attrs and f["unique/xstar"].shape[0] >= 1
    table = pd.read_csv(reference / "results/summary/runs.csv").set_index("task")
    assert not table.loc["short", "converged"] and not table.loc["short", "diverged"]
    assert table.loc["short", "n_fixed_points"] >= 1


def test_summary_figure_marks_the_diverged_run(reference):
    """The stable-count figure of the sweep depends on the diverged flag of the runs table."""
    from fixedpoints.plotting import plot_stable_counts, save_figure
    from fixedpoints.summary import read_runs_csv

    runs = read_runs_csv(reference / "results/summary/runs.csv")
    relabelled = runs.copy()
    relabelled["diverged"] = False
    images = []
    for table in (runs, relabelled):
        path = reference / f"figure_check_{len(images)}.png"
        save_figure(plot_stable_counts(table), path)
        images.append(path.read_bytes())
        path.unlink()
    assert images[0] == (reference / "results/summary/stable_counts.png").read_bytes()
    assert images[0] != images[1]


# -- 5. determinism ------------------------------------------------------------------------------

def test_same_sweep_again_with_one_core_gives_identical_outputs(reference, tmp_path):
    """From an empty results/ again, one job at a time: identical data, numbers and figure files."""
    workdir = make_workdir(tmp_path / "again", CONFIG)
    sweep(workdir, cores=1)
    assert_same_outputs(reference, workdir)


# -- 3 and 6. killed sweeps, a concurrent run ------------------------------------------------------

def test_killed_sweeps_resume_to_the_same_outputs_and_a_second_run_is_refused(reference, tmp_path):
    workdir = make_workdir(tmp_path / "killed", CONFIG)
    seed_compilation_cache(reference, workdir)
    train_log = workdir / "results/logs/train/2bit/tanh/seed0.log"
    fixed_points_log = workdir / "results/logs/find_fixed_points/2bit/tanh/seed0.log"
    model = run_dir(workdir, "2bit") / "model.h5"

    # SIGKILL the whole process tree while the 2bit network trains (its progress lines appear).
    first = start_snakemake(workdir)
    assert wait_for(lambda: train_log.is_file() and "epoch" in train_log.read_text(), 300, first), \
        (workdir / "snakemake_outer.log").read_text()
    kill_group(first)
    assert not model.exists(), "training finished before the kill: the test did not interrupt it"
    assert_no_partial_outputs(workdir)

    # The killed run left Snakemake's lock: the next run is refused and says to unlock (as the docs say).
    refused = run_snakemake(workdir, cores=1, timeout_s=120)
    assert refused.returncode != 0 and LOCK_MESSAGE in refused.stdout + refused.stderr
    assert "--unlock" in refused.stdout + refused.stderr
    unlock(workdir)

    # The same command resumes; SIGKILL it again while the 2bit fixed-point search runs.
    second = start_snakemake(workdir)
    assert wait_for(lambda: fixed_points_log.is_file() and len(fixed_points_log.read_text().splitlines()) > 1,
                    300, second), (workdir / "snakemake_outer.log").read_text()
    kill_group(second)
    assert not (run_dir(workdir, "2bit") / "fixed_points.h5").exists(), "the fixed-point job was not interrupted"
    assert model.is_file()
    assert_no_partial_outputs(workdir)
    unlock(workdir)

    # The same command again completes the sweep; a second snakemake started meanwhile is refused.
    killed_log = fixed_points_log.stat().st_mtime_ns
    # Leave the third run enough to do (one job at a time, another run's search and figures redone)
    # that it still holds the lock when the concurrent snakemake has started up.
    for name in ("fixed_points.h5", "pca_2d.png", "pca_3d.png"):
        (run_dir(workdir, "short") / name).unlink(missing_ok=True)
    third = start_snakemake(workdir, cores=1)
    assert wait_for(lambda: fixed_points_log.is_file() and fixed_points_log.stat().st_mtime_ns != killed_log,
                    300, third)   # the 2bit fixed-point job runs again: the third run holds the lock
    concurrent = run_snakemake(workdir, cores=1, timeout_s=120)
    assert concurrent.returncode != 0 and LOCK_MESSAGE in concurrent.stdout + concurrent.stderr
    assert third.wait(timeout=600) == 0, (workdir / "snakemake_outer.log").read_text()[-5000:]
    assert_no_partial_outputs(workdir)
    assert_same_outputs(reference, workdir)


# -- 2. a corrupted input under --keep-going --------------------------------------------------------

def test_corrupted_input_fails_its_run_only_and_a_rerun_after_deleting_it_completes(reference, tmp_path):
    """A byte flipped in the stored weights of one run (only a checksum can tell): rerunning every
    fixed-point search (keep-going, from the default profile) fails that run's job once, with one line
    naming the file (its seal no longer matches), the other runs finish; after the file is deleted, the same command
    rebuilds it and completes."""
    workdir = tmp_path / "corrupt"
    shutil.copytree(reference, workdir, symlinks=True)
    bad = run_dir(workdir, "short") / "model.h5"
    flip_inside_dataset(bad, "params/w_hh")
    others = [run_dir(workdir, task) / "fixed_points.h5" for task in ("2bit", "wild")]
    before = {path: path.stat().st_mtime_ns for path in others}

    result = run_snakemake(workdir, "--forcerun", "find_fixed_points", cores=2)
    assert result.returncode != 0
    log = (workdir / "results/logs/find_fixed_points/short/tanh/seed0.log").read_text()
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {bad.relative_to(workdir)}: {SEALED_DAMAGE}"], log
    assert result.stdout.count("Error in rule find_fixed_points") + result.stderr.count(
        "Error in rule find_fixed_points") == 1, "the failed job was retried"
    assert not (run_dir(workdir, "short") / "fixed_points.h5").exists()
    for path in others:   # the other runs were searched again, and finished
        assert path.stat().st_mtime_ns != before[path], result.stderr[-4000:]
        assert (path.parent / "pca_3d.png").stat().st_mtime_ns > path.stat().st_mtime_ns
    assert_no_partial_outputs(workdir, but=(bad,))

    bad.unlink()
    sweep(workdir)
    assert_same_outputs(reference, workdir)


# -- 7. locally, resources schedule jobs and never stop them ------------------------------------------

def test_a_local_job_above_its_mem_mb_runs_to_the_end(reference, tmp_path):
    """Importing JAX alone takes ~200 MB resident: a training job declared at mem_mb=100 is not
    killed locally (only Slurm enforces --mem) and trains the same network."""
    workdir = tmp_path / "memory"
    shutil.copytree(reference, workdir, symlinks=True)
    model = run_dir(workdir, "2bit") / "model.h5"
    model.unlink()
    sweep(workdir, str(model.relative_to(workdir)), "--set-resources", "train:mem_mb=100")
    benchmark = pd.read_csv(workdir / "results/benchmarks/train/2bit/tanh/seed0.tsv", sep="\t")
    assert benchmark["max_rss"].iloc[0] > 100          # it did use more than it declared
    assert h5_contents(model) == h5_contents(run_dir(reference, "2bit") / "model.h5")
