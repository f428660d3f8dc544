"""Bad input files: every loader and every script refuses a truncated, corrupted or wrong-schema HDF5
file with one line naming it, writes no output, and never returns damaged numbers as good.

Corruptions are made at known places: a cut file, a flipped byte inside a dataset's stored chunk
(the file's seal, and without it only the Fletcher-32 checksum, can catch it), and a valid file of
another schema.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fixedpoints import FileFormatError, FixedPoints, FlipFlopData, RNN, save_data, save_model
from fixedpoints.cli import run_script
from fixedpoints.fixed_points import load_fixed_points
from fixedpoints.training import TrainingHistory

from reliability_support import SEALED_DAMAGE, corrupt, flip_inside_dataset, unseal

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_fixed_points(seed=0, n=5, d=3, m=2) -> FixedPoints:
    """A small but complete set: every field the finder writes, Jacobians decomposed."""
    rng = np.random.RandomState(seed)
    xstar = rng.randn(n, d)
    fps = FixedPoints(xstar, x_init=xstar + 0.1, inputs=np.zeros((n, m)), F_xstar=xstar + 1e-7,
                      qstar=rng.rand(n) * 1e-8, dq=rng.rand(n) * 1e-10, n_iters=rng.randint(1, 99, n),
                      J_xstar=rng.randn(n, d, d) * 0.5, dFdu=rng.randn(n, d, m), residual_norm=rng.rand(n) * 1e-6,
                      newton_converged=np.ones(n, bool), sigma_min=rng.rand(n) + 0.1, is_slow=np.zeros(n, bool),
                      is_marginal=np.zeros(n, bool), tol_unique=0.01, hyperparameters={"n_inits": 8})
    fps.decompose_jacobians()
    return fps


def arrays_equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype.kind == b.dtype.kind and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


# -- FixedPoints.load: property test --------------------------------------------------------------

@pytest.fixture(scope="module")
def fixed_points_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fps")
    fps = make_fixed_points()
    hiddens = np.random.RandomState(1).randn(2, 4, 3).astype(np.float32)
    fps.save(folder / "fixed_points.h5", hiddens=hiddens)
    return (folder / "fixed_points.h5").read_bytes(), fps, hiddens


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_fixed_points_fail_clearly_or_load_correct_data(tmp_path, fixed_points_file, data):
    """Random truncations and byte flips: a FileFormatError naming the file, or exactly the saved data."""
    blob, original, hiddens = fixed_points_file
    path = tmp_path / "fixed_points.h5"
    path.write_bytes(corrupt(blob, data))
    try:
        loaded = load_fixed_points(path)
        unique = FixedPoints.load(path)
    except FileFormatError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    # A flip in unused bytes may leave the file valid: then the content must be the original.
    for fps in (loaded["unique"], loaded["all"], unique):
        assert set(fps.fields()) == set(original.fields())
        for name, value in original.fields().items():
            assert arrays_equal(getattr(fps, name), value), name
    assert arrays_equal(loaded["hiddens"], hiddens)


@pytest.mark.parametrize("dataset", ["unique/xstar", "unique/eigval_J_xstar", "all/qstar", "states/hiddens"])
def test_flipped_byte_in_a_fixed_points_dataset_is_detected(tmp_path, fixed_points_file, dataset):
    """Without a checksum, a flipped bit here loads as a silently different number: the seal refuses the
    file, and without the seal the dataset's own checksum does, naming it."""
    path = tmp_path / "fixed_points.h5"
    path.write_bytes(fixed_points_file[0])
    flip_inside_dataset(path, dataset)
    with pytest.raises(FileFormatError) as info:
        load_fixed_points(path)
    assert str(info.value) == f"{path}: {SEALED_DAMAGE}"
    unseal(path)
    with pytest.raises(FileFormatError) as info:
        load_fixed_points(path)
    assert str(info.value) == f"{path}: checksum mismatch in dataset /{dataset}"


# -- the scripts ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A complete, valid run folder results/2bit/tanh/seed0 (tiny sizes, untrained weights)."""
    run = tmp_path_factory.mktemp("good") / "results" / "2bit" / "tanh" / "seed0"
    gen = FlipFlopData(n_bits=2, n_time=16, p=0.5, random_seed=0)
    splits = {name: gen.generate_data(n) for name, n in (("train", 16), ("valid", 4), ("test", 4))}
    save_data(run / "data.h5", splits, n_bits=2, n_time=16, p=0.5, seed=0)
    rnn = RNN.init("tanh", n_inputs=2, n_hidden=3, n_outputs=2, seed=0)
    history = TrainingHistory(np.array([0.5, 0.1]), np.array([0.2]), np.array([1]), 2, False, False, 0.25,
                              {"learning_rate": 0.08, "seed": 0})
    save_model(rnn, run / "model.h5", history=history, seed=0)
    _, hiddens = rnn(splits["test"]["inputs"])
    make_fixed_points(d=3, m=2).save(run / "fixed_points.h5", hiddens=np.asarray(hiddens))
    return run


def damage(path: Path, how: str, good_run: Path) -> None:
    if how == "truncated":
        blob = path.read_bytes()
        path.write_bytes(blob[: len(blob) * 2 // 3])
    elif how == "corrupted":
        dataset = {"data.h5": "test/inputs", "model.h5": "params/w_hh", "fixed_points.h5": "unique/xstar"}[path.name]
        flip_inside_dataset(path, dataset)
    elif how == "wrong schema":   # a valid file of another kind at this path
        other = "model.h5" if path.name != "model.h5" else "data.h5"
        shutil.copy2(good_run / other, path)
    else:
        raise AssertionError(how)


def script_args(name: str, run: Path, out: Path) -> list[str]:
    if name == "train":
        return ["--data", str(run / "data.h5"), "--rnn-type", "tanh", "--n-hidden", "3", "--seed", "0",
                "--out", str(out / "model.h5"), "--max-epochs", "2", "--batch-size", "8"]
    if name == "find_fixed_points":
        return ["--model", str(run / "model.h5"), "--data", str(run / "data.h5"), "--out",
                str(out / "fixed_points.h5"), "--n-inits", "4", "--max-iters", "10", "--no-verbose"]
    if name == "plot_run":
        return ["--model", str(run / "model.h5"), "--fixed-points", str(run / "fixed_points.h5"),
                "--out-2d", str(out / "pca_2d.png"), "--out-3d", str(out / "pca_3d.png")]
    if name in ("topology", "continuation"):
        return ["--model", str(run / "model.h5"), "--fixed-points", str(run / "fixed_points.h5"),
                "--out", str(out / f"{name}.h5")]
    if name == "aggregate":
        figures = [arg for figure in ("stable_counts", "saddle_index", "training_curves", "topology_classes")
                   for arg in ("--" + figure.replace("_", "-"), str(out / f"{figure}.png"))]
        return ["--runs", str(run), "--runs-csv", str(out / "runs.csv"), "--provenance",
                str(out / "provenance.csv"), *figures]
    raise AssertionError(name)


# script → the HDF5 files it reads (generate_data reads none)
INPUTS = {"train": ["data.h5"], "find_fixed_points": ["model.h5", "data.h5"],
          "topology": ["model.h5", "fixed_points.h5"], "continuation": ["model.h5", "fixed_points.h5"],
          "plot_run": ["model.h5", "fixed_points.h5"], "aggregate": ["data.h5", "model.h5", "fixed_points.h5"]}
CASES = [(script, name, how) for script, names in INPUTS.items() for name in names
         for how in ("truncated", "corrupted", "wrong schema")]


@pytest.mark.parametrize("script,name,how", CASES, ids=[f"{s}-{n}-{h}" for s, n, h in CASES])
def test_script_refuses_bad_input_naming_the_file(tmp_path, good_run, script, name, how):
    run = tmp_path / "results" / "2bit" / "tanh" / "seed0"
    shutil.copytree(good_run, run)
    damage(run / name, how, good_run)
    out = tmp_path / "out"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = run_script(load_script(script).main, script_args(script, run, out))
    errors = [line for line in stderr.getvalue().splitlines() if line.startswith("error:")]
    assert status == 1, stderr.getvalue()
    assert len(errors) == 1 and str(run / name) in errors[0], stderr.getvalue()
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*")), sorted(out.rglob("*"))


@pytest.mark.parametrize("script", sorted(INPUTS))
def test_script_accepts_the_good_run(tmp_path, good_run, script):
    """The control of the test above: the same call on the undamaged files succeeds and writes its output."""
    out = tmp_path / "out"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = run_script(load_script(script).main, script_args(script, good_run, out))
    assert status == 0, stderr.getvalue()
    assert any(p.is_file() for p in out.rglob("*"))


@pytest.mark.parametrize("body, code, expected_stdout, expected_stderr", [
    ("print('done', flush=False)", 0, "done\n", ""),
    ("raise ValueError('in.h5: bad key x')", 1, "", "error: in.h5: bad key x\n"),
])
def test_exit_script_flushes_its_output_and_exits_with_the_code(tmp_path, body, code, expected_stdout,
                                                                 expected_stderr):
    """``exit_script`` ends the process without the interpreter's teardown: what the script printed to a
    pipe (block-buffered) still arrives, atexit handlers are skipped, the exit code is run_script's."""
    script = tmp_path / "script.py"
    script.write_text("import atexit\nfrom fixedpoints.cli import exit_script\n"
                      "atexit.register(lambda: print('teardown'))\n"
                      f"def main(argv=None):\n    {body}\nexit_script(main)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (code, expected_stdout, expected_stderr)
