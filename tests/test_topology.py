"""Index counts of the idealised N-bit layout, the census of a found set, and the saddle–attractor graph."""

import itertools
import subprocess
import sys
from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from fixedpoints import FixedPointFinder, FlipFlopData, RNN, save_model, train
from fixedpoints.connections import END_KINDS, ConnectionSettings, trace_branches
from fixedpoints.fixed_points import FixedPoints, decompose
from fixedpoints.io import FileFormatError
from fixedpoints.models import STEP_FUNCTIONS, parameter_shapes, readout
from fixedpoints.plotting.graph import plot_graph, plot_graph_run, plot_topology_classes, topology_classes
from fixedpoints.plotting.readout import Readout, nested_axes
from fixedpoints.topology import (COLUMNS, build_graph, census_text, graph_columns, graph_hash, index_census,
                                  is_hypercube, load_graph, n_bit_index_counts, n_index1_edges, run_columns, run_graph,
                                  save_graph, skeleton_hash)
from test_connections import decoupled_fixed_points, decoupled_step, ghost_fixed_points, ghost_step, tanh_root
from test_plotting import artists, closed_form_trajectories, match_signs, pca_projection, pieces
from reliability_support import edited


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 5])
def test_ideal_counts_are_the_faces_of_the_hypercube(n_bits):
    # a face of {-1,+1}^N is a vector in {-1, 0, +1}^N; its dimension (the saddle index) is the number of zeros
    faces = np.array(list(itertools.product((-1, 0, 1), repeat=n_bits)))
    by_index = np.bincount(np.sum(faces == 0, axis=1), minlength=n_bits + 1)
    np.testing.assert_array_equal(n_bit_index_counts(n_bits), by_index)
    assert n_bit_index_counts(n_bits).sum() == 3 ** n_bits


def test_census_counts_each_index():
    np.testing.assert_array_equal(index_census([0, 0, 1, 3, 1, 0]), [3, 2, 0, 1])
    np.testing.assert_array_equal(index_census([0, 1], n_max=3), [1, 1, 0, 0])
    assert index_census([]).size == 0
    assert census_text([0, 0, 1]) == "index 0: 2, index 1: 1"
    assert census_text([0, 1, 1, 2], n_bits=2) == "index 0: 1/4, index 1: 2/4, index 2: 1/1"


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_bits"):
        n_bit_index_counts(0)
    with pytest.raises(ValueError, match="non-negative"):
        index_census([-1])


# -- the saddle–attractor graph --------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "workflow" / "scripts" / "topology.py"


def decoupled_graph(w, dim, readout_fn=lambda x: x):
    fps = decoupled_fixed_points(w, dim)
    return build_graph(fps, trace_branches(decoupled_step, {"w": w}, fps, np.zeros(1)), readout=readout_fn)


def face_graph(points):
    """The graph the closed form gives for a decoupled map whose coordinates rest at −a, 0 or a: a point with
    zeros at Z → the points with one coordinate of Z set to ±a; labels = the number of zeros."""
    index = {tuple(np.sign(np.round(p, 12)).astype(int)): i for i, p in enumerate(points)}
    graph = nx.DiGraph()
    for key, i in index.items():
        graph.add_node(i, label=str(key.count(0)))
        for j in (j for j, v in enumerate(key) if v == 0):
            for sign in (1, -1):
                graph.add_edge(i, index[key[:j] + (sign,) + key[j + 1:]])
    return graph


@pytest.mark.parametrize("dim", [2, 3])
def test_decoupled_graph_is_the_face_lattice_of_the_hypercube(dim):
    graph = decoupled_graph(1.5, dim)
    expected = face_graph(decoupled_fixed_points(1.5, dim).xstar)
    assert set(graph.edges) == set(expected.edges)
    assert all(graph.nodes[i]["label"] == expected.nodes[i]["label"] for i in expected)
    assert is_hypercube(graph) and n_index1_edges(graph) == dim * 2 ** (dim - 1)      # 4 for the square, 12 cube
    patterns = sorted(graph.nodes[i]["pattern"] for i in graph if graph.nodes[i]["kind"] == "attractor")
    assert patterns == sorted("".join(p) for p in itertools.product("+-", repeat=dim))
    columns = graph_columns(graph)
    assert set(columns) == set(COLUMNS)
    assert (columns["is_hypercube"], columns["n_slow_ends"], columns["n_branches_no_end"]) == (True, 0, 0)


def decoupled_cell(rnn_type, w=1.5):
    """A 2-unit cell of ``rnn_type`` whose units do not interact, with readout y = h, and its 9 fixed points.

    tanh: h' = tanh(w h). GRU (r ≈ 1, z = ½): h' = ½ tanh(w h) + ½ h, the same fixed points. LSTM
    (i, o ≈ 1, f = ½): c' = ½ c + tanh(w h), h' = tanh(c'), so h = tanh(2 tanh(w h)) and c = 2 tanh(w h).
    Per unit the rest points are 0 (unstable: the slope of the unit's map at 0 exceeds 1) and ±a.
    """
    params = {name: np.zeros(shape) for name, shape in parameter_shapes(rnn_type, 1, 2, 2).items()}
    params["w_out"] = np.eye(2)
    key = {"tanh": "w_hh", "gru": "w_hn", "lstm": "w_hg"}[rnn_type]
    params[key] = w * np.eye(2)
    params.update({"gru": {"b_r": np.full(2, 30.0)}, "lstm": {"b_i": np.full(2, 30.0), "b_o": np.full(2, 30.0)},
                   "tanh": {}}[rnn_type])
    unit = (lambda h: np.tanh(2 * np.tanh(w * h))) if rnn_type == "lstm" else (lambda h: np.tanh(w * h))
    a = 1.0
    for _ in range(500):
        a = unit(a)
    h = np.array(list(itertools.product((-a, 0.0, a), repeat=2)))
    x = np.concatenate([h, 2 * np.tanh(w * h)], axis=1) if rnn_type == "lstm" else h
    J = np.asarray(jax.vmap(jax.jacfwd(STEP_FUNCTIONS[rnn_type], argnums=1), (None, 0, None))(
        {k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(x), jnp.zeros(1)))
    eigval, eigvec, stable, n_unstable = decompose(J)
    return params, h, FixedPoints(x, eigval_J_xstar=eigval, eigvec_J_xstar=eigvec, is_stable=stable,
                                  n_unstable=n_unstable)


@pytest.mark.parametrize("rnn_type", ["tanh", "gru", "lstm"])
def test_decoupled_cells_give_the_square(rnn_type):
    params, h, fps = decoupled_cell(rnn_type)
    np.testing.assert_array_equal(fps.n_unstable, np.sum(h == 0, axis=1))
    branches = trace_branches(STEP_FUNCTIONS[rnn_type], params, fps, np.zeros(1))
    graph = build_graph(fps, branches, readout=lambda x: readout(params, x))
    assert set(graph.edges) == set(face_graph(h).edges)
    assert is_hypercube(graph) and n_index1_edges(graph) == 4


def test_hash_identifies_the_topology_not_the_geometry():
    cube_a, cube_b, square = decoupled_graph(1.5, 3), decoupled_graph(3.0, 3), decoupled_graph(1.5, 2)
    assert graph_hash(cube_a) == graph_hash(cube_b) != graph_hash(square)
    # an independent check of the hash: networkx's isomorphism test with the same labels
    match = nx.algorithms.isomorphism.categorical_node_match("label", None)
    assert nx.is_isomorphic(cube_a, cube_b, node_match=match) and not nx.is_isomorphic(cube_a, square)
    assert skeleton_hash(cube_a) == skeleton_hash(cube_b) != skeleton_hash(square)


def test_not_a_hypercube_when_a_saddle_is_missing_or_the_bits_do_not_flip_one_at_a_time():
    fps = decoupled_fixed_points(1.5, 2)
    keep = np.flatnonzero(~((fps.n_unstable == 1) & (fps.xstar[:, 0] > 0)))     # drop the saddle at (s, 0)
    fewer = fps[keep]
    graph = build_graph(fewer, trace_branches(decoupled_step, {"w": 1.5}, fewer, np.zeros(1)), readout=lambda x: x)
    assert not is_hypercube(graph) and n_index1_edges(graph) == 3
    # readout (x0, x0·x1): the attractor pairs along x0 differ in both bits
    twisted = decoupled_graph(1.5, 2, lambda x: np.stack([x[:, 0], x[:, 0] * x[:, 1]], axis=1))
    assert not is_hypercube(twisted) and n_index1_edges(twisted) == 4
    assert graph_hash(twisted) == graph_hash(decoupled_graph(1.5, 2))              # same shape, other bits
    with pytest.raises(ValueError, match="output patterns"):
        is_hypercube(decoupled_graph(1.5, 2, None))
    assert graph_columns(decoupled_graph(1.5, 2, None))["is_hypercube"] is None


def test_a_slow_end_is_a_slow_node_not_an_attractor():
    fps = ghost_fixed_points(0.25)
    graph = build_graph(fps, trace_branches(ghost_step, {"k": 0.25, "a": 1e-9}, fps, np.zeros(1)),
                        readout=lambda x: x[:, :1])
    kinds = dict(graph.nodes(data="kind"))
    assert kinds == {0: "attractor", 1: "saddle", 2: "slow"}
    assert set(graph.edges) == {(1, 0), (1, 2)} and graph.nodes[2]["label"] == "slow"
    columns = graph_columns(graph)
    assert (columns["is_hypercube"], columns["n_slow_ends"], columns["n_index1_edges"]) == (False, 1, 0)


# -- graph.h5 ---------------------------------------------------------------------------------------

def assert_same_graph(a, b):
    assert sorted(a.nodes) == sorted(b.nodes) and sorted(a.edges(data="branches")) == sorted(b.edges(data="branches"))
    for node in a:
        for key, value in a.nodes[node].items():
            np.testing.assert_array_equal(b.nodes[node][key], value, err_msg=f"{node}.{key}")
    for field, value in a.graph["branches"]._asdict().items():
        np.testing.assert_array_equal(b.graph["branches"]._asdict()[field], value, err_msg=field)
    assert {k: v for k, v in a.graph.items() if k != "branches"} == {k: v for k, v in b.graph.items()
                                                                     if k != "branches"}


@pytest.mark.parametrize("system", ["cube", "ghost"])
def test_graph_file_round_trip(tmp_path, system):
    if system == "cube":
        graph = decoupled_graph(1.5, 3)
    else:
        fps = ghost_fixed_points(0.25)
        branches = trace_branches(ghost_step, {"k": 0.25, "a": 1e-9}, fps, np.zeros(1), slow_xstar=[[1.0, 0.0]])
        graph = build_graph(fps, branches, attrs={"model": "m.h5", "wall_s": 1.5})
    save_graph(tmp_path / "graph.h5", graph)
    loaded = load_graph(tmp_path / "graph.h5")
    assert_same_graph(graph, loaded)
    assert graph_columns(loaded) == graph_columns(graph) == run_columns(tmp_path / "graph.h5")
    with h5py.File(tmp_path / "graph.h5") as f:
        assert (f.attrs["schema"], f.attrs["schema_version"]) == ("fixedpoints/graph", 1)
        assert f["branches/path"].fletcher32 and f["nodes/position"].fletcher32


def test_corrupt_or_inconsistent_graph_files_are_named(tmp_path):
    path = tmp_path / "graph.h5"
    save_graph(path, decoupled_graph(1.5, 2))
    with edited(path) as f:
        target = f["edges/target"][()]
        del f["edges/target"]
        f["edges/target"] = target[::-1]
    with pytest.raises(FileFormatError, match="graph.h5: /edges disagree"):
        load_graph(path)
    with edited(path) as f:
        del f["nodes/index"]
    with pytest.raises(FileFormatError, match="graph.h5: .missing dataset /nodes/index"):
        load_graph(path)
    with pytest.raises(FileFormatError, match="expected 'fixedpoints/graph'"):
        save_model(RNN.init("tanh", 1, 2, 1), tmp_path / "model.h5") or load_graph(tmp_path / "model.h5")


# -- trained networks, checked by a simulation of the cell equations in float64 numpy ---------------

def numpy_run(params, x0_bxd, n_steps):
    """h ← tanh(h @ w_hh + b_h) (u = 0) for ``n_steps`` steps, in float64."""
    w, b = (np.asarray(params[k], np.float64) for k in ("w_hh", "b_h"))
    h = np.array(x0_bxd, np.float64)
    for _ in range(n_steps):
        h = np.tanh(h @ w + b)
    return h


def numpy_jacobian(params, h):
    """∂h'/∂h of h' = tanh(h @ w_hh + b_h): diag(1 − h'²) w_hhᵀ (row-vector convention)."""
    w, b = (np.asarray(params[k], np.float64) for k in ("w_hh", "b_h"))
    return (1 - np.tanh(h @ w + b) ** 2)[:, None] * w.T


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """Trained 2-bit/3-unit and 3-bit/4-unit tanh nets: files of the run (model.h5, fixed_points.h5) and the graph."""
    runs = {}
    for n_bits, n_hidden in ((2, 3), (3, 4)):
        folder = tmp_path_factory.mktemp(f"run{n_bits}")
        gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=0)
        train_data, valid_data, test_data = (gen.generate_data(k) for k in (512, 128, 128))
        rnn, history = train(RNN.init("tanh", n_bits, n_hidden, n_bits, seed=0), train_data, valid_data, seed=0,
                             verbose=False)
        assert history.converged
        _, hiddens = rnn(test_data["inputs"])
        finder = FixedPointFinder(rnn, verbose=False)
        fps, _ = finder.find_fixed_points(np.asarray(hiddens), np.zeros((1, n_bits)), n_inits=256)
        assert fps.n == 3 ** n_bits
        save_model(rnn, folder / "model.h5", history=history)
        fps.save(folder / "fixed_points.h5", hiddens=np.asarray(hiddens), slow_fps=finder.slow_fps)
        runs[n_bits] = (rnn, folder, run_graph(folder / "model.h5", folder / "fixed_points.h5"))
    return runs


@pytest.mark.parametrize("n_bits", [2, 3])
def test_trained_nets_are_hypercubes_and_every_branch_ends_where_a_simulation_ends(trained_runs, n_bits):
    rnn, folder, graph = trained_runs[n_bits]
    params = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    fps = FixedPoints.load(folder / "fixed_points.h5")
    attractors = np.flatnonzero(fps.is_stable)
    patterns = {}
    for a in attractors:      # the output bit pattern, by the readout in numpy
        patterns[a] = "".join("+" if v > 0 else "-" for v in fps.xstar[a] @ params["w_out"] + params["b_out"])
        assert graph.nodes[a]["pattern"] == patterns[a]
    assert sorted(patterns.values()) == sorted("".join(p) for p in itertools.product("+-", repeat=n_bits))

    def simulated_end(x0_bxd):
        end = numpy_run(params, x0_bxd, 3000)
        dist = np.linalg.norm(end[:, None, :] - fps.xstar[None, attractors], axis=2)
        assert np.all(dist.min(axis=1) < 1e-6)
        return attractors[dist.argmin(axis=1)]

    branches = graph.graph["branches"]
    # every branch: its direction is an unstable eigenvector of the numpy Jacobian, and its end the simulation's
    for row in range(len(branches.saddle)):
        x_star, direction = fps.xstar[branches.saddle[row]], branches.direction[row]
        J = numpy_jacobian(params, x_star)
        lam = direction @ J @ direction
        assert abs(lam) > 1 and np.linalg.norm(J @ direction - lam * direction) < 1e-4
        x0 = x_star + branches.sign[row] * ConnectionSettings.step_size * direction
        assert END_KINDS[branches.end_kind[row]] == "attractor"
        assert simulated_end(x0[None])[0] == branches.end_node[row]
    # every index-1 saddle: ± its own numpy eigenvector leads to two attractors one bit apart, as the graph says
    flips = set()
    for s in np.flatnonzero(fps.n_unstable == 1):
        lam, vec = np.linalg.eig(numpy_jacobian(params, fps.xstar[s]))
        v = np.real(vec[:, np.argmax(np.abs(lam))])
        ends = simulated_end(fps.xstar[s] + 1e-3 * np.array([v, -v]))
        assert set(ends) == set(graph.successors(s)) and len(set(ends)) == 2
        a, b = (patterns[e] for e in ends)
        assert sum(x != y for x, y in zip(a, b)) == 1
        flips.add(frozenset(ends))
    assert len(flips) == n_bits * 2 ** (n_bits - 1)                  # every one-bit pair joined: the hypercube
    assert is_hypercube(graph) and n_index1_edges(graph) == len(flips)


def test_script_writes_the_graph_and_bad_input_is_one_line(trained_runs, tmp_path):
    _, folder, graph = trained_runs[2]
    out = tmp_path / "graph.h5"
    result = subprocess.run([sys.executable, str(SCRIPT), "--model", folder / "model.h5", "--fixed-points",
                             folder / "fixed_points.h5", "--out", out, "--max-path-points", "50"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "branches running" in result.stderr
    written = load_graph(out)
    assert graph_columns(written) == graph_columns(graph) and written.graph["max_path_points"] == 50
    assert written.graph["branches"].path.shape[1] == 50
    bad = subprocess.run([sys.executable, str(SCRIPT), "--model", tmp_path / "missing.h5", "--fixed-points",
                          folder / "fixed_points.h5", "--out", tmp_path / "bad.h5"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [f"error: {tmp_path / 'missing.h5'}: file not found"]
    assert not (tmp_path / "bad.h5").exists()


def test_a_run_without_fixed_points_gives_an_empty_graph(tmp_path):

    save_model(RNN.init("tanh", 2, 3, 2), tmp_path / "model.h5")
    FixedPoints.empty(3, 2).save(tmp_path / "fixed_points.h5", attrs={"skipped_reason": "training diverged"})
    graph = run_graph(tmp_path / "model.h5", tmp_path / "fixed_points.h5")
    save_graph(tmp_path / "graph.h5", graph)
    loaded = load_graph(tmp_path / "graph.h5")
    assert loaded.number_of_nodes() == 0 and loaded.graph["skipped_reason"] == "training diverged"
    assert run_columns(tmp_path / "graph.h5") == dict.fromkeys(COLUMNS)


# -- figures ----------------------------------------------------------------------------------------

def test_graph_figure_draws_nodes_at_their_projected_positions_and_branches_along_their_paths():
    graph = decoupled_graph(2.0, 3)
    traj = closed_form_trajectories(3)
    fig = plot_graph(graph, traj, trials=5)
    assert len(artists(fig, "trajectory")) == 5
    assert len(artists(fig, "branch_path")) == 3                  # one line per saddle index, its branches as pieces
    branch_lines = pieces(artists(fig, "branch_path"), 2)
    assert len(branch_lines) == len(graph.graph["branches"].saddle) == 54
    fps = decoupled_fixed_points(2.0, 3)
    (attractor_markers,) = artists(fig, "node:attractor")
    got = np.column_stack(attractor_markers.get_data())
    expected = pca_projection(traj, fps.xstar[fps.is_stable], 2)
    np.testing.assert_allclose(got, match_signs(got, expected), atol=1e-9)
    for k, count in ((1, 12), (2, 6), (3, 1)):
        (markers,) = artists(fig, f"node:index{k}")
        assert len(markers.get_xdata()) == count
    # a branch line runs from its first to its last path point, projected the same way
    first = branch_lines[0]
    path = graph.graph["branches"].path[0, : graph.graph["branches"].path_length[0]]
    np.testing.assert_allclose(first, match_signs(first, pca_projection(traj, path, 2)), atol=1e-9)
    labels = [line for t in artists(fig, "pattern") for line in t.get_text().split("\n")]   # stacked ones too
    assert sorted(labels) == sorted("".join(p) for p in itertools.product("+\N{MINUS SIGN}", repeat=3))
    assert fig.axes[0].get_title() == "hypercube, 12 index-1 edges"
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))]
    assert min(sizes) >= 8


def test_graph_figure_in_the_readout_view_puts_the_attractors_at_the_cube_corners_with_their_patterns():
    # decoupled x_i' = tanh(2 x_i): attractors at (±a, ±a, ±a); read out by I/a they sit at the corners of
    # {−1, +1}^3, which the readout panel of bits 1, 2 (bit 3 nested at 0.35) maps to (y1 + .35 y3, y2 + .35 y3)
    graph = decoupled_graph(2.0, 3)
    a = tanh_root(2.0)
    readout = Readout(np.eye(3) / a, np.zeros(3))
    outputs = nested_axes(3, (0, 1))
    projection = readout.projection(3, outputs, ("x", "y"))
    fig = plot_graph(graph, closed_form_trajectories(3), projection=projection, readout=readout)
    (markers,) = artists(fig, "node:attractor")
    corners = np.array(list(itertools.product((-1.0, 1.0), repeat=3)))
    expected = corners @ np.array([[1.0, 0.0], [0.0, 1.0], [0.35, 0.35]])
    got = np.column_stack(markers.get_data())
    np.testing.assert_allclose(got[np.lexsort(got.T)], expected[np.lexsort(expected.T)], atol=1e-9)
    texts = artists(fig, "pattern")
    assert len(texts) == 8                                # every attractor its own label
    for text in texts:                                    # each next to the corner whose signs it spells
        signs = np.array([1.0 if c == "+" else -1.0 for c in text.get_text()])
        assert np.allclose(text.get_position(), signs @ outputs)


def test_graph_figure_of_a_run_file_and_of_a_skipped_run(trained_runs, tmp_path):
    _, folder, graph = trained_runs[3]
    save_graph(tmp_path / "graph.h5", graph)
    fig = plot_graph_run(tmp_path / "graph.h5", folder / "fixed_points.h5", title="3-bit tanh seed 0")
    assert fig.axes[0].get_title() == "3-bit tanh seed 0: hypercube, 12 index-1 edges"
    assert len(artists(fig, "pattern")) == 8
    empty = build_graph(FixedPoints(np.zeros((0, 2)), is_stable=np.zeros(0, bool), n_unstable=np.zeros(0, int)),
                        trace_branches(decoupled_step, {"w": 1.5}, decoupled_fixed_points(1.5, 2)[:0], np.zeros(1)),
                        attrs={"skipped_reason": "training diverged"})
    fig = plot_graph(empty, closed_form_trajectories(2), note="skipped: training diverged")
    (message,) = artists(fig, "message")
    assert "no fixed points" in message.get_text() and "training diverged" in message.get_text()


def test_topology_classes_count_runs_per_task_and_architecture():
    runs = pd.DataFrame({
        "task": ["2bit"] * 7, "arch": ["tanh"] * 4 + ["gru"] * 3, "seed": [0, 1, 2, 3, 0, 1, 2],
        "is_hypercube": [True, True, True, False, True, None, "False"],
        "skeleton_hash": ["c", "c", "c", "abcdef99", "c", None, "abcdef99"],
        "graph_hash": ["g1", "g2", "g1", "g3", "g1", None, "g4"]})
    records = {(r["arch"], r["name"]): (r["seeds"], r["n_graphs"]) for r in topology_classes(runs)}
    assert records == {("tanh", "hypercube"): ([0, 1, 2], 2), ("tanh", "class abcdef"): ([3], 1),
                       ("gru", "hypercube"): ([0], 1), ("gru", "class abcdef"): ([2], 1),
                       ("gru", "skipped"): ([1], 1)}
    fig = plot_topology_classes(runs)
    ax = fig.axes[0]
    widths = {p.get_gid(): p.get_width() for p in ax.patches}
    assert widths == {"topology_class:2bit:tanh:hypercube": 3, "topology_class:2bit:tanh:class abcdef": 1,
                      "topology_class:2bit:gru:hypercube": 1, "topology_class:2bit:gru:class abcdef": 1,
                      "topology_class:2bit:gru:skipped": 1}
    (note,) = [t for t in ax.texts if t.get_gid() == "class_note:2bit:tanh"]
    assert note.get_text() == "hypercube 3/4, 3 distinct graphs; not hypercube: seed 3"
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))]
    assert min(sizes) >= 8
