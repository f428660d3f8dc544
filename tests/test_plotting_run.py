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
from fixedpoints.io import FileFormatError, load_model_arrays
from test_plotting import artists, closed_form_fixed_points, closed_form_trajectories, data_of, pieces
from reliability_support import edited

SCRIPT = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "plot_run.py"
RNN_TYPES = ("tanh", "gru", "lstm")


def closed_form_set(d: int, rows=slice(None), **extra) -> FixedPoints:
    cf = closed_form_fixed_points(d)
    xstar = cf.xstar[rows]
    n = len(xstar)
    return FixedPoints(xstar, x_init=xstar, inputs=np.zeros((n, 2)), F_xstar=xstar, qstar=np.zeros(n),
                       dq=np.zeros(n), n_iters=np.zeros(n, int), eigval_J_xstar=cf.eigval_J_xstar[rows],
                       eigvec_J_xstar=cf.eigvec_J_xstar[rows], is_stable=cf.is_stable[rows],
                       n_unstable=cf.n_unstable[rows], **extra)


def write_run(folder: Path, *, n_points: bool = True, reason: str | None = None, seed: int = 7, slow: bool = False):
    """model.h5 of a 2-input, 3-unit tanh network and a fixed_points.h5 holding the closed-form set
    (and, with ``slow``, a ``slow`` group of two slow points)."""
    save_model(RNN.init("tanh", n_inputs=2, n_hidden=3, n_outputs=2, seed=seed), folder / "model.h5", seed=seed)
    fps = closed_form_set(3, slice(None) if n_points else slice(0, 0))
    hiddens = closed_form_trajectories(3, trials=25).astype(np.float32)
    slow_fps = None
    if slow:
        slow_fps = closed_form_set(3, slice(0, 2))
        slow_fps.xstar = slow_fps.xstar * 0.5
    fps.save(folder / "fixed_points.h5", hiddens=hiddens, attrs={"skipped_reason": reason} if reason else None,
             slow_fps=slow_fps)
    return folder / "model.h5", folder / "fixed_points.h5", hiddens


def test_plot_run_titles_counts_trials_and_views(tmp_path):
    model, fixed_points, hiddens = write_run(tmp_path)
    figures = plotting.plot_run(model, fixed_points, trials=5, start_time=3)
    assert list(figures) == ["pca_2d", "pca_3d", "readout", "main"]
    assert figures["main"] is figures["pca_2d"]                  # N = 2 bits: the main figure is PCA 2D
    for name in ("pca_2d", "pca_3d"):
        fig, dims = figures[name], 2 if name == "pca_2d" else 3
        assert fig.axes[0].get_title() == "2-bit tanh seed 7: 8 stable / 27"
        lines = artists(fig, "trajectory")
        assert len(lines) == 5 and len(data_of(lines[0], dims)) == hiddens.shape[1] - 3
        assert len(pieces(artists(fig, "unstable_mode"), dims)) == 27
    assert figures["readout"].get_suptitle() == "2-bit tanh seed 7: 8 stable / 27"
    figures = plotting.plot_run(model, fixed_points, trials=100, title="3bit tanh seed 7", views=["pca_2d"])
    assert list(figures) == ["pca_2d"]
    assert len(artists(figures["pca_2d"], "trajectory")) == 25
    assert figures["pca_2d"].axes[0].get_title() == "3bit tanh seed 7: 8 stable / 27"
    with pytest.raises(ValueError, match="pca_4d"):
        plotting.plot_run(model, fixed_points, views=["pca_4d"])


def test_main_view_by_task_size():
    assert [plotting.main_view(n) for n in (1, 2, 3, 4, 8)] == ["pca_2d", "pca_2d", "readout", "readout", "readout"]


def test_plot_run_draws_the_slow_group(tmp_path):
    model, fixed_points, _ = write_run(tmp_path, slow=True)
    for name, fig in plotting.plot_run(model, fixed_points, views=["pca_2d", "readout"]).items():
        (slow,) = artists(fig, "slow_points")
        assert len(slow.get_xdata()) == 2, name


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_readout_view_of_each_cell_uses_the_models_readout(tmp_path, rnn_type):
    """The stable points in the readout panel sit at models.readout(params, x*) (JAX, the model's own
    readout: for the LSTM the first half of concat(h, c)) mapped by the panel's nesting."""
    from fixedpoints.models import readout

    rnn = RNN.init(rnn_type, n_inputs=3, n_hidden=2, n_outputs=3, seed=1)
    save_model(rnn, tmp_path / "model.h5", seed=1)
    d = rnn.state_size
    rng = np.random.default_rng(0)
    cf = closed_form_fixed_points(d)
    fps = closed_form_set(d)
    fps.save(tmp_path / "fixed_points.h5", hiddens=rng.normal(size=(4, 9, d)).astype(np.float32))
    fig = plotting.plot_run(tmp_path / "model.h5", tmp_path / "fixed_points.h5", views=["main"])["main"]
    (stable,) = artists(fig, "fixed_points:stable")
    y = np.asarray(readout(rnn.params, np.asarray(cf.xstar[cf.is_stable], np.float32)), np.float64)
    expected = y @ np.array([[1, 0], [0, 1], [0.35, 0.35]])          # 3 bits: bits 1, 2, the third nested
    np.testing.assert_allclose(np.column_stack(stable.get_data()), expected, atol=1e-5)


@pytest.mark.parametrize("rnn_type", RNN_TYPES)
def test_load_model_arrays_round_trip_without_jax(tmp_path, rnn_type):
    rnn = RNN.init(rnn_type, n_inputs=2, n_hidden=3, n_outputs=2, seed=4)
    save_model(rnn, tmp_path / "model.h5", seed=4)
    got_type, arrays = load_model_arrays(tmp_path / "model.h5")
    assert got_type == rnn_type and sorted(arrays) == sorted(rnn.params)
    for name, value in rnn.params.items():
        assert arrays[name].dtype == np.float32
        np.testing.assert_array_equal(arrays[name], np.asarray(value))


def test_load_model_arrays_names_the_file_and_the_parameter(tmp_path):

    rnn = RNN.init("gru", n_inputs=2, n_hidden=3, n_outputs=2, seed=0)
    save_model(rnn, tmp_path / "model.h5")
    with edited(tmp_path / "model.h5") as f:
        del f["params/w_hz"]
        f["params/w_hz"] = np.zeros((3, 4), np.float32)
    with pytest.raises(FileFormatError) as info:
        load_model_arrays(tmp_path / "model.h5")
    message = str(info.value)
    assert message.startswith(str(tmp_path / "model.h5")) and "'w_hz'" in message and "(3, 3)" in message


def test_plot_run_without_fixed_points_says_why(tmp_path):
    model, fixed_points, _ = write_run(tmp_path, n_points=False, reason="training diverged")
    for name, fig in plotting.plot_run(model, fixed_points).items():
        title = fig.get_suptitle() if name == "readout" else fig.axes[0].get_title()
        assert title == "2-bit tanh seed 7: 0 stable / 0"
        (text,) = artists(fig, "message")
        assert "skipped: training diverged" in text.get_text()


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def write_graph_and_continuation(folder: Path) -> tuple[Path, Path]:
    """graph.h5 of the decoupled 3-unit map (its 27 fixed points, 54 branches) and continuation.h5 of one
    tanh unit (both made here with JAX; the script only reads them)."""
    from fixedpoints.continuation import continue_fixed_points
    from fixedpoints.equations import map_equation
    from fixedpoints.topology import save_graph
    from test_continuation import UNIT_STARTS, W, identity, tanh_units
    from test_topology import decoupled_graph

    save_graph(folder / "graph.h5", decoupled_graph(2.0, 3))
    continue_fixed_points(map_equation(tanh_units), UNIT_STARTS, np.array([[1.0], [-1.0]]), params={"w": W},
                          readout=identity, verbose=False).save(folder / "continuation.h5")
    return folder / "graph.h5", folder / "continuation.h5"


def test_script_writes_reproducible_figures_without_jax_scipy_or_sklearn(tmp_path):
    """All six figures of the rule, twice: the same bytes, and the process never imported JAX, optax,
    scikit-learn or scipy (each costs a plotting job 0.1–0.6 s of imports)."""
    model, fixed_points, _ = write_run(tmp_path)
    graph, continuation = write_graph_and_continuation(tmp_path)
    digests = []
    for name in ("a", "b"):
        outputs = {view: [tmp_path / f"{name}_{view}.png", tmp_path / f"{name}_{view}.pdf"]
                   for view in ("main", "readout", "2d", "3d", "graph", "bifurcation")}
        argv = ["--model", str(model), "--fixed-points", str(fixed_points), "--trials", "4", "--start-time", "2",
                "--graph", str(graph), "--continuation", str(continuation)]
        for view, paths in outputs.items():
            argv += [f"--out-{view}", *map(str, paths)]
        # run the script as `python plot_run.py ...` would, then look at what it imported
        code = (f"import runpy, sys; sys.argv = {[str(SCRIPT)] + argv!r}\n"
                f"try:\n    runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
                f"except SystemExit as exit:\n    assert not exit.code, exit.code\n"
                f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & "
                f"{{'jax', 'jaxlib', 'sklearn', 'optax', 'scipy'}})\n"
                f"assert not heavy, heavy")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        digests.append([path.read_bytes() for paths in outputs.values() for path in paths])
    assert digests[0] == digests[1]
    main_png, _, readout_png, _, pca_2d_png, pca_2d_pdf, pca_3d_png, _, graph_png, graph_pdf, bif_png, _ = digests[0]
    assert main_png == pca_2d_png and main_png[:4] == b"\x89PNG" and pca_2d_pdf[:4] == b"%PDF"
    assert graph_png[:4] == bif_png[:4] == b"\x89PNG" and graph_pdf[:4] == b"%PDF"
    assert len({main_png, readout_png, pca_3d_png, graph_png, bif_png}) == 5


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
    result = run_script("--model", model, "--fixed-points", fixed_points)
    assert result.returncode == 2 and "--out-main" in result.stderr


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
    figures = plotting.plot_run(tmp_path / "model.h5", tmp_path / "fixed_points.h5", views=["pca_2d", "pca_3d"])
    for fig in figures.values():
        assert fig.axes[0].get_title() == "2-bit tanh seed 3: 0 stable / 0"
        (text,) = artists(fig, "message")
        assert "skipped: training diverged" in text.get_text()
    assert run_script_main(load_script().main, ["--model", str(tmp_path / "model.h5"), "--fixed-points",
                                                str(tmp_path / "fixed_points.h5"), "--out-2d", str(tmp_path / "a.png"),
                                                "--out-main", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").stat().st_size > 1000 and (tmp_path / "b.png").read_bytes() == (
        tmp_path / "a.png").read_bytes()
