"""plot_run: the per-run figures from model.h5 and fixed_points.h5, as a library call and a script."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fixedpoints import RNN, save_model
from fixedpoints.fixed_points import FixedPoints
from fixedpoints import plotting
from fixedpoints.cli import run_script as run_script_main
from test_plotting import artists, closed_form_fixed_points, closed_form_trajectories, data_of

SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "plot_run.py"


def write_run(folder: Path, *, n_points: bool = True, reason: str | None = None, seed: int = 7):
    """model.h5 of a 2-input, 3-unit tanh network and a fixed_points.h5 holding the closed-form set."""
    save_model(RNN.init("tanh", n_inputs=2, n_hidden=3, n_outputs=2, seed=seed), folder / "model.h5", seed=seed)
    cf = closed_form_fixed_points(3)
    rows = slice(None) if n_points else slice(0, 0)
    xstar = cf.xstar[rows]
    n = len(xstar)
    fps = FixedPoints(xstar, x_init=xstar, inputs=np.zeros((n, 2)), F_xstar=xstar, qstar=np.zeros(n),
                      dq=np.zeros(n), n_iters=np.zeros(n, int), eigval_J_xstar=cf.eigval_J_xstar[rows],
                      eigvec_J_xstar=cf.eigvec_J_xstar[rows], is_stable=cf.is_stable[rows],
                      n_unstable=cf.n_unstable[rows])
    hiddens = closed_form_trajectories(3, trials=25).astype(np.float32)
    fps.save(folder / "fixed_points.h5", hiddens=hiddens, attrs={"skipped_reason": reason} if reason else None)
    return folder / "model.h5", folder / "fixed_points.h5", hiddens


def test_plot_run_titles_counts_and_trials(tmp_path):
    model, fixed_points, hiddens = write_run(tmp_path)
    fig_2d, fig_3d = plotting.plot_run(model, fixed_points, trials=5, start_time=3)
    for fig, dims in ((fig_2d, 2), (fig_3d, 3)):
        assert fig.axes[0].get_title() == "2-bit tanh seed 7: 8 stable / 27"
        lines = artists(fig, "trajectory")
        assert len(lines) == 5 and len(data_of(lines[0], dims)) == hiddens.shape[1] - 3
        assert len(artists(fig, "unstable_mode")) == 27
    fig_2d, _ = plotting.plot_run(model, fixed_points, trials=100, title="3bit tanh seed 7")
    assert len(artists(fig_2d, "trajectory")) == 25
    assert fig_2d.axes[0].get_title() == "3bit tanh seed 7: 8 stable / 27"


def test_plot_run_without_fixed_points_says_why(tmp_path):
    model, fixed_points, _ = write_run(tmp_path, n_points=False, reason="training diverged")
    for fig in plotting.plot_run(model, fixed_points):
        assert fig.axes[0].get_title() == "2-bit tanh seed 7: 0 stable / 0"
        (text,) = artists(fig, "message")
        assert "skipped: training diverged" in text.get_text()


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_script_writes_reproducible_figures(tmp_path):
    model, fixed_points, _ = write_run(tmp_path)
    digests = []
    for name in ("a", "b"):
        result = run_script("--model", model, "--fixed-points", fixed_points, "--out-2d", tmp_path / f"{name}_2d.png",
                            "--out-3d", tmp_path / f"{name}_3d.png", "--trials", "4", "--start-time", "2")
        assert result.returncode == 0, result.stderr
        digests.append(((tmp_path / f"{name}_2d.png").read_bytes(), (tmp_path / f"{name}_3d.png").read_bytes()))
    assert digests[0] == digests[1]
    assert digests[0][0][:4] == b"\x89PNG" and digests[0][0] != digests[0][1]


def load_script():
    spec = importlib.util.spec_from_file_location("plot_run_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_bad_input_is_one_line_error(tmp_path, capsys):
    script = load_script()
    model, fixed_points, _ = write_run(tmp_path)
    code = run_script_main(script.main, ["--model", str(model), "--fixed-points", str(tmp_path / "missing.h5"),
                                         "--out-2d", str(tmp_path / "a.png"), "--out-3d", str(tmp_path / "b.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "missing.h5" in err and err.count("\n") == 1
    code = run_script_main(script.main, ["--model", str(model), "--fixed-points", str(fixed_points),
                                         "--out-2d", str(tmp_path / "a.jpg"), "--out-3d", str(tmp_path / "b.png")])
    err = capsys.readouterr().err
    assert code == 1 and "a.jpg" in err and ".png" in err and err.count("\n") == 1
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_script_mismatched_state_size(tmp_path):
    _, fixed_points, _ = write_run(tmp_path)
    save_model(RNN.init("gru", n_inputs=2, n_hidden=5, n_outputs=2, seed=0), tmp_path / "other.h5", seed=0)
    with pytest.raises(ValueError, match="state size 3"):
        plotting.plot_run(tmp_path / "other.h5", fixed_points)


def test_diverged_run_through_the_finder_script(tmp_path):
    """A model whose training diverged: find_fixed_points.py writes an empty set, plot_run says why."""
    from fixedpoints import FlipFlopData, TrainingHistory, save_data

    gen = FlipFlopData(n_bits=2, n_time=16, p=0.5, random_seed=0)
    splits = {name: gen.generate_data(8) for name in ("train", "valid", "test")}
    save_data(tmp_path / "data.h5", splits, n_bits=2, n_time=16, p=0.5, seed=0)
    history = TrainingHistory(train_loss=np.array([1.0, np.nan]), valid_loss=np.array([1.0]),
                              valid_epoch=np.array([0]), epochs=2, converged=False, diverged=True, wall_s=0.1,
                              hyperparameters={"seed": 3})
    save_model(RNN.init("tanh", n_inputs=2, n_hidden=3, n_outputs=2, seed=3), tmp_path / "model.h5",
               history=history, seed=3)
    finder_script = SCRIPT.parent / "find_fixed_points.py"
    result = subprocess.run([sys.executable, str(finder_script), "--model", str(tmp_path / "model.h5"), "--data",
                             str(tmp_path / "data.h5"), "--out", str(tmp_path / "fixed_points.h5")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    fig_2d, fig_3d = plotting.plot_run(tmp_path / "model.h5", tmp_path / "fixed_points.h5")
    for fig in (fig_2d, fig_3d):
        assert fig.axes[0].get_title() == "2-bit tanh seed 3: 0 stable / 0"
        (text,) = artists(fig, "message")
        assert "skipped: training diverged" in text.get_text()
    assert run_script_main(load_script().main, ["--model", str(tmp_path / "model.h5"), "--fixed-points",
                                                str(tmp_path / "fixed_points.h5"), "--out-2d", str(tmp_path / "a.png"),
                                                "--out-3d", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").stat().st_size > 1000 and (tmp_path / "b.png").stat().st_size > 1000
