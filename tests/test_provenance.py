"""Provenance: every HDF5 file the scripts write records what made it, and the summary's provenance
table groups runs by software and flags a sweep made by more than one.

Expectations come from elsewhere than fixedpoints.provenance: the packages' own ``__version__``,
``git`` run here, and run folders whose attributes the tests rewrite by hand.
"""

import io
import os
import socket
import subprocess
import sys
from contextlib import redirect_stderr
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import fixedpoints
from fixedpoints import provenance
from fixedpoints.io import atomic_h5, write_array
from fixedpoints.summary import provenance_table, provenance_verdict
from reliability_support import edited

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false --xla_force_host_platform_device_count=1"


def git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout.strip()


def expected_provenance(xla_flags: str, jax_env: str) -> dict:
    """What a process started here with these settings must record, from independent sources."""
    import jax
    import jaxlib
    import optax

    assert Path(fixedpoints.__file__).resolve().is_relative_to(ROOT / "src"), "tests need the editable install"
    dirty = "true" if git(ROOT, "status", "--porcelain", "--untracked-files=no") else "false"
    with open(ROOT / "pyproject.toml", "rb") as handle:
        import tomllib
        version = tomllib.load(handle)["project"]["version"]
    return {"fixedpoints": version, "git_revision": git(ROOT, "rev-parse", "HEAD"), "git_dirty": dirty,
            "python": ".".join(map(str, sys.version_info[:3])), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "optax": optax.__version__, "numpy": np.__version__,
            "h5py": h5py.__version__, "xla_flags": xla_flags, "jax_env": jax_env}


@pytest.fixture(scope="module")
def script_outputs(tmp_path_factory):
    """data.h5, model.h5 and fixed_points.h5 written by the workflow's scripts, each in its own process
    with the XLA flags and JAX settings given here."""
    out = tmp_path_factory.mktemp("run")
    env = {**os.environ, "XLA_FLAGS": XLA_FLAGS, "JAX_PLATFORMS": "cpu"}
    for name in provenance.NUMERIC_JAX_ENV[1:]:
        env.pop(name, None)
    commands = {
        "data.h5": ["generate_data.py", "--n-bits", "2", "--seed", "0", "--n-time", "16", "--n-train", "16",
                    "--n-valid", "8", "--n-test", "8", "--out", out / "data.h5"],
        "model.h5": ["train.py", "--data", out / "data.h5", "--rnn-type", "tanh", "--n-hidden", "3", "--seed", "0",
                     "--max-epochs", "2", "--batch-size", "8", "--out", out / "model.h5"],
        "fixed_points.h5": ["find_fixed_points.py", "--model", out / "model.h5", "--data", out / "data.h5",
                            "--n-inits", "4", "--max-iters", "10", "--no-verbose", "--out", out / "fixed_points.h5"],
    }
    for script, *args in commands.values():
        result = subprocess.run([sys.executable, str(SCRIPTS / script), *map(str, args)], env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, f"{script}: {result.stderr[-3000:]}"
    return out


@pytest.mark.parametrize("name", ["data.h5", "model.h5", "fixed_points.h5"])
def test_every_file_the_scripts_write_records_what_made_it(script_outputs, name):
    with h5py.File(script_outputs / name, "r") as f:
        recorded = {key[len(provenance.PREFIX):]: f.attrs[key] for key in f.attrs
                    if key.startswith(provenance.PREFIX)}
    assert list(recorded) == list(provenance.KEYS)
    assert all(isinstance(value, str) for value in recorded.values()), recorded
    expected = expected_provenance(XLA_FLAGS, "JAX_PLATFORMS=cpu")
    assert {key: recorded[key] for key in expected} == expected
    machine = os.uname()
    assert recorded["platform"] == f"{machine.sysname} {machine.machine}"
    assert recorded["cpu"] and recorded["cpu"] != "unknown"
    # nothing that changes between reruns on the same machine: no path, no host name, no time
    everything = " ".join(recorded.values())
    assert str(script_outputs) not in everything and socket.gethostname() not in everything


def test_generating_data_does_not_start_jax(tmp_path):
    """Provenance reads versions from metadata: writing data.h5 must not import JAX."""
    code = ("import sys, runpy; sys.argv = ['generate_data.py', '--n-bits', '2', '--seed', '1', '--out', "
            f"{str(tmp_path / 'data.h5')!r}]\n"
            f"try:\n    runpy.run_path({str(SCRIPTS / 'generate_data.py')!r}, run_name='__main__')\n"
            "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
            "assert 'jax' not in sys.modules and 'jaxlib' not in sys.modules, 'JAX was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    with h5py.File(tmp_path / "data.h5", "r") as f:
        assert f.attrs["provenance_jax"] == expected_provenance("", "")["jax"]


def test_git_state_follows_git_and_is_unknown_outside_a_checkout(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    source = repo / "module.py"
    source.write_text("x = 1\n")
    assert provenance.git_state(source) == ("unknown", "unknown")                 # no checkout
    git(repo, "init", "-q")
    assert provenance.git_state(source) == ("unknown", "unknown")                 # not tracked: a copy
    git(repo, "add", "module.py")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    head = git(repo, "rev-parse", "HEAD")
    assert provenance.git_state(source) == (head, "false")
    (repo / "notes.txt").write_text("untracked files do not make a checkout dirty")
    assert provenance.git_state(source) == (head, "false")
    source.write_text("x = 2\n")
    assert provenance.git_state(source) == (head, "true")
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))                     # git not installed
    assert provenance.git_state(source) == ("unknown", "unknown")


def test_the_written_provenance_replaces_one_copied_from_another_file(tmp_path):
    """A file re-saved from a loaded one (hyperparameters copied as attributes) says what wrote it now."""
    with atomic_h5(tmp_path / "a.h5", "test/schema") as f:
        f.attrs.update({"provenance_jax": "0.0.1", "provenance_git_revision": "0" * 40, "seed": 3})
        write_array(f, "x", np.arange(4.0))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert f.attrs["provenance_jax"] == provenance.collect()["jax"] != "0.0.1"
        assert f.attrs["provenance_git_revision"] == provenance.collect()["git_revision"]
        assert f.attrs["seed"] == 3 and f.attrs["schema"] == "test/schema"
    assert provenance.from_attrs({"provenance_numpy": b"1.26.0"}) == {
        key: "1.26.0" if key == "numpy" else "absent" for key in provenance.KEYS}


# -- the summary's provenance table ----------------------------------------------------------------

def set_attrs(path, **values):
    with edited(path) as f:
        for key, value in values.items():
            f.attrs[provenance.PREFIX + key] = value


@pytest.fixture
def two_runs(tmp_path):
    from test_workflow_summary import make_run

    return [make_run(tmp_path / "results", "2bit", "tanh", seed, 2, 3, n_unstable=[0, 0, 1]) for seed in (0, 1)]


def test_one_software_set_is_one_row(two_runs):
    table = provenance_table(two_runs)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["set"], row["n_files"], row["runs"], row["differs_in"]) == (1, 6, "2bit/tanh/seed0 2bit/tanh/seed1", "")
    assert {key: row[key] for key in provenance.KEYS} == dict(provenance.collect())
    assert provenance_verdict(table) == "all 6 files of the sweep were made by the same software and platform"


def test_runs_made_by_other_software_are_flagged(two_runs):
    for name in ("data.h5", "model.h5", "fixed_points.h5"):
        set_attrs(two_runs[1] / name, jax="0.4.30", jaxlib="0.4.30")
    table = provenance_table(two_runs)
    assert list(table["set"]) == [1, 2] and list(table["n_files"]) == [3, 3]
    assert list(table["runs"]) == ["2bit/tanh/seed0", "2bit/tanh/seed1"]
    assert list(table["differs_in"]) == ["jax jaxlib", "jax jaxlib"]
    assert list(table["jax"]) == [provenance.collect()["jax"], "0.4.30"]
    assert "2 different software sets" in provenance_verdict(table) and "jax jaxlib" in provenance_verdict(table)


def test_a_run_whose_files_disagree_is_listed_by_file(two_runs):
    """Retrained from another commit on another machine: only that run's model.h5 differs."""
    set_attrs(two_runs[0] / "model.h5", git_revision="0" * 40, cpu="Some Other CPU")
    table = provenance_table(two_runs)
    assert list(table["n_files"]) == [5, 1]
    assert list(table["runs"]) == ["2bit/tanh/seed0/data.h5 2bit/tanh/seed0/fixed_points.h5 2bit/tanh/seed1",
                                   "2bit/tanh/seed0/model.h5"]
    assert table["differs_in"].iloc[0] == "git_revision cpu"
    assert table["cpu"].iloc[1] == "Some Other CPU"


def test_aggregate_writes_the_provenance_table_and_warns(two_runs, tmp_path):
    import runpy

    set_attrs(two_runs[1] / "fixed_points.h5", numpy="1.26.4")
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        aggregate = runpy.run_path(str(SCRIPTS / "aggregate.py"))
        summary = tmp_path / "summary"
        figures = [argument for figure in ("stable_counts", "saddle_index", "training_curves", "topology_classes")
                   for argument in ("--" + figure.replace("_", "-"), str(summary / f"{figure}.png"))]
        aggregate["main"](["--runs", *map(str, two_runs), "--runs-csv", str(summary / "runs.csv"),
                           "--provenance", str(tmp_path / "software.csv"), *figures])
    table = pd.read_csv(tmp_path / "software.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["set", "n_files", "runs", "differs_in", *provenance.KEYS]
    assert list(table["runs"]) == ["2bit/tanh/seed0 2bit/tanh/seed1/data.h5 2bit/tanh/seed1/model.h5",
                                   "2bit/tanh/seed1/fixed_points.h5"]
    assert list(table["numpy"]) == [np.__version__, "1.26.4"]
    assert "WARNING: the runs of this sweep were made by 2 different software sets" in stderr.getvalue()
