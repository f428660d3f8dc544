"""workflow/scripts/find_fixed_points.py end to end on a tiny network."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from fixedpoints import (FixedPointFinder, FixedPoints, FlipFlopData, RNN, TrainingHistory, load_model, save_data,
                         save_model, train)
from fixedpoints.certification import cross_check, load_certificate
from fixedpoints.cli import run_script
from fixedpoints.fixed_points import load_fixed_points

SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "find_fixed_points.py"
spec = importlib.util.spec_from_file_location("find_fixed_points", SCRIPT)
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fp_script")
    gen = FlipFlopData(n_bits=2, n_time=32, p=0.5, random_seed=3)
    splits = {name: gen.generate_data(n) for name, n in (("train", 256), ("valid", 32), ("test", 16))}
    save_data(folder / "data.h5", splits, n_bits=2, n_time=32, p=0.5, seed=3)
    rnn, history = train(RNN.init("tanh", 2, 3, 2, seed=3), splits["train"], splits["valid"], batch_size=128,
                         max_epochs=60, seed=3, verbose=False)
    save_model(rnn, folder / "model.h5", history=history)
    diverged = TrainingHistory(np.array([1.0, np.nan]), np.array([1.0]), np.array([0]), 2, False, True, 0.1, {})
    save_model(rnn, folder / "diverged.h5", history=diverged)
    return folder, splits


def run(argv, capsys):
    code = run_script(script.main, [str(a) for a in argv])
    return code, capsys.readouterr().err


FAST = ["--n-inits", 64, "--max-iters", 300, "--n-box-inits", 16, "--no-verbose"]


def test_script_writes_what_the_library_finds(files, capsys):
    folder, splits = files
    out = folder / "fp.h5"
    code, err = run(["--model", folder / "model.h5", "--data", folder / "data.h5", "--out", out, "--seed", 7,
                     *FAST], capsys)
    assert code == 0, err
    result = load_fixed_points(out)
    rnn = load_model(folder / "model.h5")
    _, hiddens = rnn(splits["test"]["inputs"])
    np.testing.assert_array_equal(result["hiddens"], np.asarray(hiddens))
    finder = FixedPointFinder(rnn, random_seed=7, max_iters=300, n_box_inits=16, verbose=False)
    unique, all_fps = finder.find_fixed_points(np.asarray(hiddens), np.zeros((1, 2)), n_inits=64)
    np.testing.assert_array_equal(result["unique"].xstar, unique.xstar)
    np.testing.assert_array_equal(result["all"].qstar, all_fps.qstar)
    attrs = result["attrs"]
    assert attrs["method"] == "joint" and attrs["random_seed"] == 7 and attrs["n_inits"] == 64
    assert attrs["tol_unique"] == 1e-2 and attrs["wall_s"] > 0 and "skipped_reason" not in attrs
    assert result["unique"].J_xstar.shape == (unique.n, 3, 3)
    slow = FixedPoints.load(out, group="slow")              # flagged candidates, with their certificate
    assert slow.n == finder.slow_fps.n and slow.sigma_min is not None


def test_script_certifies_and_takes_the_memory_census(files, capsys):
    folder, _ = files
    out, never = folder / "fp_certified.h5", folder / "fp_never.h5"
    code, err = run(["--model", folder / "model.h5", "--data", folder / "data.h5", "--out", out, *FAST], capsys)
    assert code == 0, err
    unique = load_fixed_points(out, groups=("unique",))["unique"]
    with h5py.File(out) as f:
        cert = load_certificate(f["certificate"])
        assert f["certificate"].attrs["finder_agrees"] == (cert.n_roots == unique.n)
        assert set(f["memories"].attrs) >= {"n_memories", "memory_steps"}
    # the proved roots are the finder's points (each within its root's enclosure, to the finder's precision)
    assert cert.certified and cert.n_roots == unique.n
    assert cross_check(cert, unique.xstar).agree
    assert "certified: exactly" in err and "memories:" in err
    code, err = run(["--model", folder / "model.h5", "--data", folder / "data.h5", "--out", never, *FAST,
                     "--certify", "never"], capsys)
    assert code == 0, err
    with h5py.File(never) as f:
        assert "certificate" not in f and "memories" in f


def test_script_input_option(files, capsys):
    folder, _ = files
    out = folder / "fp_input.h5"
    code, err = run(["--model", folder / "model.h5", "--data", folder / "data.h5", "--out", out, "--input", "0.5,0",
                     *FAST], capsys)
    assert code == 0, err
    unique = FixedPoints.load(out)
    assert np.all(unique.inputs == [0.5, 0.0])


def test_diverged_model_gives_an_empty_valid_file(files, capsys):
    folder, _ = files
    out = folder / "fp_diverged.h5"
    code, err = run(["--model", folder / "diverged.h5", "--data", folder / "data.h5", "--out", out, *FAST], capsys)
    assert code == 0, err
    result = load_fixed_points(out)
    assert result["attrs"]["skipped_reason"] == "training diverged"
    assert result["unique"].n == 0 and result["unique"].J_xstar.shape == (0, 3, 3)
    assert result["hiddens"].shape == (16, 32, 3)


@pytest.mark.parametrize("args, message", [
    (["--model", "{f}/missing.h5"], r"error: \S*missing.h5: file not found"),
    (["--data", "{f}/model.h5"], r"error: \S*model.h5: schema is 'fixedpoints/model', expected 'fixedpoints/data'"),
    (["--lr-init", "-1"], "error: lr_init must be a number > 0, got -1.0"),
    (["--input", "1,2,3"], "error: --input has 3 values, the model has 2 inputs"),
    (["--input", "a,b"], "error: --input must be comma-separated numbers, got 'a,b'"),
])
def test_bad_input_one_line_error_and_no_file(files, capsys, args, message):
    folder, _ = files
    out = folder / "bad.h5"
    base = {"--model": folder / "model.h5", "--data": folder / "data.h5"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value.format(f=folder)
    argv = [item for pair in base.items() for item in pair] + ["--out", out, *FAST]
    code, err = run(argv, capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not out.exists()


def test_help_lists_every_option_with_its_default():
    text = " ".join(subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for option in ("--method", "--n-inits", "--noise-scale", "--max-iters", "--lr-init", "--tol-q",
                   "--final-q-threshold", "--tol-unique", "--outlier-distance-scale", "--seed", "--input", "--dtype",
                   "--lr-factor", "--lr-patience", "--lr-cooldown", "--max-n-unique", "--do-polish", "--stall-window"):
        assert option in text
    assert "(default: 1024)" in text and "(default: 0.4)" in text and "(default: joint)" in text
