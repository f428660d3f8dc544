"""workflow/scripts/generate_data.py and train.py: options, outputs equal to the library's, errors."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fixedpoints import FlipFlopData, RNN, load_data, load_history, load_model, train
from fixedpoints.settings import defaults
from fixedpoints.tasks import DataSettings
from fixedpoints.training import TrainingSettings

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"


def run(script, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def help_defaults(script):
    """{option: default} as printed by ``--help`` (argparse's "(default: X)")."""
    result = run(script, "--help")
    assert result.returncode == 0, result.stderr
    entries = re.split(r"\n  (?=-)", result.stdout)      # one entry per option, continuation lines included
    found = (re.match(r"--([a-z-]+) .*\(default: ([^)]*)\)$", " ".join(e.split())) for e in entries)
    return dict(m.groups() for m in found if m)


def test_help_lists_every_option_with_the_library_defaults():
    data_help = help_defaults("generate_data.py")
    expected = {k: str(v) for k, v in defaults(DataSettings).items()}
    assert {k.replace("-", "_"): v for k, v in data_help.items()} == expected
    train_help = help_defaults("train.py")
    assert {k.replace("-", "_"): float(v) for k, v in train_help.items()} == \
        {k: float(v) for k, v in defaults(TrainingSettings).items()}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """data.h5 of a 2-bit task with few trials, and a model trained on it for a few epochs."""
    folder = tmp_path_factory.mktemp("run")
    data_result = run("generate_data.py", "--n-bits", 2, "--seed", 3, "--out", folder / "data.h5",
                      "--n-time", 16, "--p", 0.3, "--n-train", 64, "--n-valid", 16, "--n-test", 8)
    train_result = run("train.py", "--data", folder / "data.h5", "--rnn-type", "gru", "--n-hidden", 3,
                       "--seed", 5, "--out", folder / "model.h5", "--learning-rate", 0.05, "--batch-size", 32,
                       "--max-epochs", 7, "--min-loss", 1e-9, "--eval-every", 3, "--clip-norm", 1.0)
    return folder, data_result, train_result


def test_generate_data_writes_the_generator_sequence(small_run):
    folder, result, _ = small_run
    assert result.returncode == 0, result.stderr
    splits, attrs = load_data(folder / "data.h5")
    assert attrs == {"task": "flipflop", "n_bits": 2, "n_time": 16, "p": 0.3, "seed": 3}
    generator = FlipFlopData(n_bits=2, n_time=16, p=0.3, random_seed=3)
    for name, n in (("train", 64), ("valid", 16), ("test", 8)):
        expected = generator.generate_data(n)
        for key in ("inputs", "targets"):
            np.testing.assert_array_equal(splits[name][key], expected[key])


def test_train_writes_what_the_library_trains(small_run):
    folder, _, result = small_run
    assert result.returncode == 0, result.stderr
    assert "epoch" in result.stderr                      # progress goes to stderr
    splits, _ = load_data(folder / "data.h5")
    expected, expected_history = train(RNN.init("gru", 2, 3, 2, seed=5), splits["train"], splits["valid"],
                                       learning_rate=0.05, batch_size=32, max_epochs=7, min_loss=1e-9,
                                       eval_every=3, clip_norm=1.0, seed=5, verbose=False)
    model = load_model(folder / "model.h5")
    assert model.rnn_type == "gru" and model.n_hidden == 3
    for name, value in expected.params.items():
        np.testing.assert_array_equal(model.params[name], value)
    history = load_history(folder / "model.h5")
    assert history.epochs == 7 and not history.converged and not history.diverged
    np.testing.assert_array_equal(history.train_loss, expected_history.train_loss)
    np.testing.assert_array_equal(history.valid_epoch, [2, 5, 6])
    assert history.hyperparameters["clip_norm"] == 1.0 and history.hyperparameters["seed"] == 5


@pytest.mark.parametrize("script, args, named", [
    ("generate_data.py", ["--n-bits", 0, "--seed", 0], "n_bits"),
    ("generate_data.py", ["--n-bits", 2, "--seed", 0, "--p", 1.5], "p must be"),
    ("train.py", ["--data", "MISSING/data.h5", "--rnn-type", "tanh", "--n-hidden", 3, "--seed", 0],
     "MISSING/data.h5"),
])
def test_bad_input_is_one_error_line(tmp_path, script, args, named):
    result = run(script, *args, "--out", tmp_path / "out.h5")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr
    assert not (tmp_path / "out.h5").exists()


def test_train_refuses_a_batch_larger_than_the_training_set(small_run, tmp_path):
    folder, _, _ = small_run
    result = run("train.py", "--data", folder / "data.h5", "--rnn-type", "tanh", "--n-hidden", 3, "--seed", 0,
                 "--out", tmp_path / "model.h5", "--batch-size", 65)
    assert result.returncode == 1 and result.stderr.startswith("error: batch_size"), result.stderr
    assert not (tmp_path / "model.h5").exists()
