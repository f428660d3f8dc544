"""The topology of a run's fixed points: counts by index, and the saddle–attractor graph.

Counts: the idealised N-bit FlipFlop layout and the census of a found set. Graph: which fixed point
each unstable branch of each saddle reaches (`connections.trace_branches`) as a networkx graph, the
hypercube test, a canonical hash for comparing runs, the runs.csv columns, and the ``graph.h5``
file (docs/topology.md).

The index of a fixed point x* of h ↦ F(h) is the number of eigenvalues of J = ∂F/∂x(x*) with
|λ| > 1 (its number of unstable directions; 0 for an attractor). A network that solves the N-bit
FlipFlop task ideally has one fixed point per face of the hypercube {−1, +1}^N: the 2^N vertices
are the attractors, and the centre of each k-dimensional face is a saddle of index k, so there
are C(N, k)·2^(N−k) points of index k and 3^N in all (Sussillo & Barak 2013).
"""

from __future__ import annotations

import os
from math import comb
from typing import NamedTuple
from collections.abc import Callable, Mapping

import networkx as nx
import numpy as np

from .io import FileFormatError, atomic_h5, attr_text, content_attrs, read_array, read_attr, read_h5, write_array
from .settings import from_mapping, values


def n_bit_index_counts(n_bits: int) -> np.ndarray:
    """Idealised count of index-k fixed points of an N-bit FlipFlop network, k = 0..N: C(N,k)·2^(N−k).

    The counts sum to 3^N (binomial theorem: Σ_k C(N,k)·2^(N−k)·1^k = 3^N).
    """
    if int(n_bits) != n_bits or n_bits < 1:
        raise ValueError(f"n_bits must be a positive integer, got {n_bits!r}")
    n = int(n_bits)
    return np.array([comb(n, k) * 2 ** (n - k) for k in range(n + 1)], dtype=np.int64)


def index_census(n_unstable, n_max: int | None = None) -> np.ndarray:
    """Count of fixed points of each index: ``counts[k] = #{i : n_unstable[i] == k}``, k = 0..n_max.

    ``n_max`` defaults to the largest index present (an empty set gives an empty array).
    """
    n_unstable = np.asarray(n_unstable, dtype=np.int64).reshape(-1)
    if np.any(n_unstable < 0):
        raise ValueError("n_unstable must be non-negative")
    if n_max is None:
        n_max = int(n_unstable.max()) if n_unstable.size else -1
    return np.bincount(n_unstable, minlength=n_max + 1)[: n_max + 1]


def census_text(n_unstable, n_bits: int | None = None) -> str:
    """One line such as ``index 0: 8, index 1: 12, index 2: 6, index 3: 1``; with ``n_bits`` each
    count is followed by the idealised one, e.g. ``index 1: 12/12``."""
    counts = index_census(n_unstable, None if n_bits is None else int(n_bits))
    if n_bits is None:
        return ", ".join(f"index {k}: {c}" for k, c in enumerate(counts)) or "none"
    ideal = n_bit_index_counts(n_bits)
    text = ", ".join(f"index {k}: {c}/{ideal[k]}" for k, c in enumerate(counts[: len(ideal)]))
    extra = int(np.sum(np.asarray(n_unstable) > n_bits))
    return text + (f", index > {n_bits}: {extra}" if extra else "")


# -- the saddle–attractor graph ------------------------------------------------------------------
# The branches are traced by `connections.trace_branches` (JAX); their container lives here, with the
# file format, so that reading a graph (to draw or summarise it) starts no JAX.

END_KINDS = ("attractor", "saddle", "slow", "none")
"""How a branch ends; `Branches.end_kind` holds the position in this tuple."""
ATTRACTOR, SADDLE, SLOW, NO_END = range(4)


class Branches(NamedTuple):
    """The branches of every saddle of a run; ``b`` branches, state size ``d``, ``p`` path slots.

    Node ids: 0 … n−1 are the fixed points (rows of the set the branches were traced from),
    n … n+s−1 the slow points that branches ended at (``slow_position`` [s, d]).

    * ``saddle`` [b] the fixed point the branch leaves; ``eig_index`` [b] the eigen-index j of its
      direction; ``sign`` [b] ±1; ``direction`` [b, d] the unit vector v̂ (x₀ = x* + sign·ε·v̂).
    * ``end_kind`` [b] index into `END_KINDS`; ``end_node`` [b] node id (−1 for no end);
      ``end_state`` [b, d] the state where it stopped; ``steps`` [b] map applications from x₀ to it.
    * ``first_node`` [b] the first fixed point other than the saddle within ``tol_near`` (−1: none);
      ``first_step`` [b] the step at which it came near (−1: none).
    * ``path`` [b, p, d] the decimated path x₀ … end (rows past ``path_length`` [b] are NaN).
    * ``slow_position`` [s, d] the slow points; ``slow_candidate`` [s] the row of each in the run's
      slow candidates (−1: found by its speed alone).
    """

    saddle: np.ndarray
    eig_index: np.ndarray
    sign: np.ndarray
    direction: np.ndarray
    end_kind: np.ndarray
    end_node: np.ndarray
    end_state: np.ndarray
    steps: np.ndarray
    first_node: np.ndarray
    first_step: np.ndarray
    path: np.ndarray
    path_length: np.ndarray
    slow_position: np.ndarray
    slow_candidate: np.ndarray


GRAPH_SCHEMA = "fixedpoints/graph"
NODE_KINDS = ("attractor", "saddle", "marginal", "slow")
"""Kinds of node: a stable fixed point, an unstable one (index ≥ 1), a fixed point with no |λ| > 1 that
is not stable (|λ| = 1), and a slow point where a branch came to rest with no fixed point near."""
WL_ITERATIONS = 4
"""Neighbourhood aggregations of the graph hash: enough to see from the top saddle of a 4-bit net
(index 4) down to the attractors."""
COLUMNS = ("is_hypercube", "n_index1_edges", "graph_hash", "skeleton_hash", "n_slow_ends", "n_branches_no_end")
"""The runs.csv columns of a run's graph (`graph_columns`)."""


def output_patterns(y_nxk) -> list[str]:
    """The sign pattern of each readout row: ``"+-+"`` ('+' for y > 0, '-' for y < 0, '0' for y = 0)."""
    y = np.asarray(y_nxk, np.float64)
    if y.ndim != 2:
        raise ValueError(f"readout values must have shape [n, k], got {y.shape}")
    return ["".join("+" if v > 0 else "-" if v < 0 else "0" for v in row) for row in y]


def _node_kind(stable: bool, index: int) -> str:
    return "attractor" if stable else "saddle" if index >= 1 else "marginal"


def _edge_branches(branches) -> dict[tuple[int, int], list[int]]:
    """(saddle, node) → rows of the branches that make the edge: each branch joins its saddle to the first
    fixed point it came near, or, when it met none, to the slow point it ended at (else no edge)."""
    target = np.where(branches.first_node >= 0, branches.first_node, branches.end_node)
    edges: dict[tuple[int, int], list[int]] = {}
    for row in np.flatnonzero(target >= 0):
        edges.setdefault((int(branches.saddle[row]), int(target[row])), []).append(int(row))
    return edges


def build_graph(fixed_points, branches, readout: Callable | None = None, attrs: Mapping | None = None) -> nx.DiGraph:
    """The directed saddle–attractor graph of a run.

    Nodes 0 … n−1 are the fixed points (rows of ``fixed_points``), n … n+s−1 the slow points of
    ``branches`` (`Branches`). Node attributes: ``kind`` (one of `NODE_KINDS`), ``index``
    (number of |λ| > 1; −1 for a slow point), ``stable``, ``position`` [d], ``pattern`` (the sign of
    ``readout(x)`` at an attractor, e.g. ``"+-+"``; ``""`` elsewhere or without a readout),
    ``fixed_point`` / ``slow_candidate`` (row in the run's unique / slow set, −1 if none) and ``label``
    (the index as text, ``"slow"`` for slow points; what `graph_hash` sees). Each branch that met a
    fixed point gives the edge saddle → the first fixed point it came near; one that met none but came
    to rest at a slow point gives saddle → that slow point. Edge attributes: ``branches`` (their rows)
    and ``n_branches``. Graph attributes: ``attrs``, ``n_outputs`` (pattern length, 0 without a
    readout), ``state_size`` and ``branches``.

    ``readout``: a callable x [n, d] -> y [n, k] (numpy or JAX), or None.
    """
    xstar = np.asarray(fixed_points.xstar, np.float64)
    n, d = xstar.shape
    stable = np.asarray(fixed_points.is_stable, bool).reshape(n)
    index = np.asarray(fixed_points.n_unstable, np.int64).reshape(n)
    patterns = [""] * n
    n_outputs = 0
    if readout is not None:
        attractors = np.flatnonzero(stable)
        # one more row (the origin), so that the size of the readout is known even without attractors
        y = np.asarray(readout(np.concatenate([xstar[attractors], np.zeros((1, d))])), np.float64)
        y = y.reshape(len(attractors) + 1, -1)[:-1]
        n_outputs = y.shape[1]
        for row, pattern in zip(attractors, output_patterns(y)):
            patterns[row] = pattern
    graph = nx.DiGraph(**dict(attrs or {}), n_outputs=int(n_outputs), state_size=int(d), branches=branches)
    for i in range(n):
        graph.add_node(i, kind=_node_kind(stable[i], index[i]), index=int(index[i]), stable=bool(stable[i]),
                       position=xstar[i], pattern=patterns[i], fixed_point=i, slow_candidate=-1, label=str(index[i]))
    for k, (position, candidate) in enumerate(zip(branches.slow_position, branches.slow_candidate)):
        graph.add_node(n + k, kind="slow", index=-1, stable=False, position=np.asarray(position, np.float64),
                       pattern="", fixed_point=-1, slow_candidate=int(candidate), label="slow")
    for (source, target), rows in _edge_branches(branches).items():
        graph.add_edge(source, target, branches=rows, n_branches=len(rows))
    return graph


def nodes_of_kind(graph: nx.DiGraph, kind: str) -> list[int]:
    """The nodes whose ``kind`` is ``kind``, in order."""
    return [node for node, value in graph.nodes(data="kind") if value == kind]


def index1_pairs(graph: nx.DiGraph) -> list[tuple[int, int] | None]:
    """For each index-1 saddle (in node order): the two attractors it joins, as a sorted pair, or None
    when its successors are not exactly two attractors."""
    pairs = []
    for node, index in graph.nodes(data="index"):
        if index != 1:
            continue
        successors = sorted(graph.successors(node))
        joined = len(successors) == 2 and all(graph.nodes[s]["kind"] == "attractor" for s in successors)
        pairs.append(tuple(successors) if joined else None)
    return pairs


def n_index1_edges(graph: nx.DiGraph) -> int:
    """The number of distinct pairs of attractors that an index-1 saddle joins (12 for the 3-bit cube)."""
    return len({pair for pair in index1_pairs(graph) if pair is not None})


def is_hypercube(graph: nx.DiGraph, n_bits: int | None = None) -> bool:
    """Whether the attractors and index-1 saddles form the N-bit hypercube.

    True when there are 2^N attractors holding the 2^N distinct patterns in {+, −}^N, every index-1
    saddle joins two attractors whose patterns differ in exactly one bit, and every such one-bit-flip
    pair of attractors is joined by an index-1 saddle. ``n_bits`` defaults to the graph's
    ``n_outputs``; a graph without output patterns raises ValueError.
    """
    n_bits = int(graph.graph.get("n_outputs", 0) if n_bits is None else n_bits)
    if n_bits < 1:
        raise ValueError("is_hypercube needs the attractors' output patterns (a graph built with a readout) "
                         "or n_bits >= 1")
    patterns = {node: graph.nodes[node]["pattern"] for node in nodes_of_kind(graph, "attractor")}
    valid = all(len(p) == n_bits and set(p) <= {"+", "-"} for p in patterns.values())
    if len(patterns) != 2 ** n_bits or len(set(patterns.values())) != len(patterns) or not valid:
        return False
    flips = set()
    for pair in index1_pairs(graph):
        if pair is None:
            return False
        a, b = (patterns[node] for node in pair)
        if sum(x != y for x, y in zip(a, b)) != 1:
            return False
        flips.add(pair)
    return len(flips) == n_bits * 2 ** (n_bits - 1)


def graph_hash(graph: nx.DiGraph) -> str:
    """Weisfeiler–Lehman hash (networkx, `WL_ITERATIONS` rounds) of the undirected graph with the node
    ``label`` (the index, or ``"slow"``): equal for isomorphic graphs; see docs/topology.md for what it
    does and does not tell apart."""
    return nx.weisfeiler_lehman_graph_hash(nx.Graph(graph), node_attr="label", iterations=WL_ITERATIONS)


def skeleton(graph: nx.DiGraph) -> nx.DiGraph:
    """The subgraph of the attractors and index-1 saddles: the part of the graph that `is_hypercube` judges."""
    return graph.subgraph([node for node, data in graph.nodes(data=True)
                           if data["kind"] == "attractor" or (data["kind"] == "saddle" and data["index"] == 1)])


def skeleton_hash(graph: nx.DiGraph) -> str:
    """`graph_hash` of the `skeleton`: the same for every N-bit hypercube, whatever the higher saddles do."""
    return graph_hash(skeleton(graph))


def graph_columns(graph: nx.DiGraph) -> dict:
    """The runs.csv columns of a run's graph (`COLUMNS`): ``is_hypercube`` (None without output
    patterns), ``n_index1_edges``, ``graph_hash``, ``skeleton_hash``, ``n_slow_ends`` (slow nodes: branches
    that ended at a slow point) and
    ``n_branches_no_end`` (branches that reached the step budget). A skipped run (graph attribute
    ``skipped_reason``) gives None for each."""
    if graph.graph.get("skipped_reason"):
        return dict.fromkeys(COLUMNS)
    branches = graph.graph.get("branches")
    no_end = None if branches is None else int(np.sum(branches.end_kind == NO_END))
    return {"is_hypercube": is_hypercube(graph) if graph.graph.get("n_outputs") else None,
            "n_index1_edges": n_index1_edges(graph), "graph_hash": graph_hash(graph),
            "skeleton_hash": skeleton_hash(graph),
            "n_slow_ends": len(nodes_of_kind(graph, "slow")), "n_branches_no_end": no_end}


def run_columns(graph_path: str | os.PathLike) -> dict:
    """The runs.csv columns (`graph_columns`) of the run whose ``graph.h5`` is ``graph_path``."""
    return graph_columns(load_graph(graph_path))


# -- graph.h5 ------------------------------------------------------------------------------------

_BRANCH_FIELDS = {"saddle": 1, "eig_index": 1, "sign": 1, "direction": 2, "end_kind": 1, "end_node": 1,
                  "end_state": 2, "steps": 1, "first_node": 1, "first_step": 1, "path": 3, "path_length": 1}


def save_graph(path: str | os.PathLike, graph: nx.DiGraph) -> None:
    """Write ``graph.h5`` (schema ``fixedpoints/graph``, docs/topology.md) atomically: root attributes
    (the graph's attributes but ``branches``), groups ``nodes``, ``edges`` and ``branches``."""
    branches = graph.graph["branches"]
    d = int(graph.graph["state_size"])
    nodes = sorted(graph.nodes)
    if nodes != list(range(len(nodes))):
        raise ValueError("graph nodes must be numbered 0 … V−1")
    data = [graph.nodes[node] for node in nodes]
    with atomic_h5(path, GRAPH_SCHEMA) as f:
        for key, value in graph.graph.items():
            if key != "branches" and value is not None:
                f.attrs[key] = value
        group = f.create_group("nodes")
        group.attrs["kinds"] = ",".join(NODE_KINDS)
        write_array(group, "kind", [NODE_KINDS.index(a["kind"]) for a in data], np.int8)
        for key, dtype in (("index", np.int64), ("stable", np.bool_), ("fixed_point", np.int64),
                           ("slow_candidate", np.int64)):
            write_array(group, key, [a[key] for a in data], dtype)
        write_array(group, "position", np.reshape([a["position"] for a in data], (len(data), d)), np.float64)
        write_array(group, "pattern", np.array([a["pattern"].encode() for a in data], dtype="S").reshape(-1))
        edges = sorted(graph.edges(data="n_branches"))
        group = f.create_group("edges")
        for column, key in enumerate(("source", "target", "n_branches")):
            write_array(group, key, [edge[column] for edge in edges], np.int64)
        group = f.create_group("branches")
        group.attrs["end_kinds"] = ",".join(END_KINDS)
        for key in _BRANCH_FIELDS:
            write_array(group, key, getattr(branches, key))


def load_graph(path: str | os.PathLike) -> nx.DiGraph:
    """Read ``graph.h5`` into the `build_graph` graph it was written from; errors name the file."""
    with read_h5(path, GRAPH_SCHEMA) as f:
        attrs = content_attrs(f.attrs)
        d = read_attr(f, "state_size", int)
        for name in ("nodes", "edges", "branches"):
            if name not in f:
                raise KeyError(f"missing group /{name}")
        g = f["nodes"]
        kinds = read_array(g, "kind", ndim=1, dtype=np.int64)
        n_nodes = len(kinds)
        nodes = {key: read_array(g, key, ndim=1, dtype=dtype) for key, dtype in
                 (("index", np.int64), ("stable", np.bool_), ("fixed_point", np.int64), ("slow_candidate", np.int64))}
        nodes["position"] = read_array(g, "position", ndim=2, dtype=np.float64).reshape(-1, d)
        nodes["pattern"] = [p.decode() for p in read_array(g, "pattern", ndim=1)]
        for key, value in nodes.items():
            if len(value) != n_nodes:
                raise ValueError(f"dataset /nodes/{key} has {len(value)} rows, expected {n_nodes} (as /nodes/kind)")
        if np.any((kinds < 0) | (kinds >= len(NODE_KINDS))):
            raise ValueError(f"dataset /nodes/kind holds codes outside 0 … {len(NODE_KINDS) - 1}")
        edges = np.stack([read_array(f["edges"], key, ndim=1, dtype=np.int64)
                          for key in ("source", "target", "n_branches")], axis=1)
        fields = {key: read_array(f["branches"], key, ndim=ndim) for key, ndim in _BRANCH_FIELDS.items()}
    slow = kinds == NODE_KINDS.index("slow")
    branches = Branches(**fields, slow_position=nodes["position"][slow], slow_candidate=nodes["slow_candidate"][slow])
    graph = nx.DiGraph(**attrs, branches=branches)
    for i in range(n_nodes):
        graph.add_node(i, kind=NODE_KINDS[kinds[i]], index=int(nodes["index"][i]), stable=bool(nodes["stable"][i]),
                       position=nodes["position"][i], pattern=nodes["pattern"][i],
                       fixed_point=int(nodes["fixed_point"][i]), slow_candidate=int(nodes["slow_candidate"][i]),
                       label="slow" if slow[i] else str(nodes["index"][i]))
    derived = _edge_branches(branches)
    stored = {(int(s), int(t)): int(k) for s, t, k in edges}
    if stored != {edge: len(rows) for edge, rows in derived.items()}:
        raise FileFormatError(f"{path}: /edges disagree with the branches in /branches")
    for (source, target), rows in derived.items():
        graph.add_edge(source, target, branches=rows, n_branches=len(rows))
    return graph


def run_graph(model_path: str | os.PathLike, fixed_points_path: str | os.PathLike, **settings) -> nx.DiGraph:
    """The saddle–attractor graph of one run from its ``model.h5`` and ``fixed_points.h5``.

    The branches are traced (`connections.trace_branches`, ``settings`` any of
    `connections.ConnectionSettings`) with the model's own step at the constant input of the fixed
    points, the ``slow`` group naming slow ends; attractors carry the sign pattern of the model's
    readout. A file without fixed points gives an empty graph (keeping its ``skipped_reason``).
    """
    import time

    from .connections import ConnectionSettings, trace_branches
    from .fixed_points import FIXED_POINTS_SCHEMA, load_fixed_points
    from .io import load_model
    from .models import STEP_FUNCTIONS, readout

    options = from_mapping(ConnectionSettings, settings, "connection")
    rnn = load_model(model_path)
    with read_h5(fixed_points_path, FIXED_POINTS_SCHEMA) as f:
        groups = ("unique", "slow") if "slow" in f else ("unique",)
    loaded = load_fixed_points(fixed_points_path, groups=groups)
    fps = loaded["unique"]
    slow = loaded["slow"].xstar if "slow" in loaded else None
    if fps.n_states != rnn.state_size:
        raise ValueError(f"{fixed_points_path}: state size {fps.n_states} does not match the model {model_path} "
                         f"(state size {rnn.state_size})")
    u = np.zeros(rnn.n_inputs) if fps.inputs is None or fps.n == 0 else np.asarray(fps.inputs[0], np.float64)
    if fps.n and not np.all(fps.inputs == fps.inputs[0]):
        raise ValueError(f"{fixed_points_path}: the fixed points are at different inputs; a graph needs one constant "
                         f"input")
    reason = loaded["attrs"].get("skipped_reason")
    attrs = {**{k: v for k, v in values(options).items() if k not in ("verbose", "chunk_steps")},
             "model": str(model_path), "fixed_points": str(fixed_points_path), "rnn_type": rnn.rnn_type,
             **({"skipped_reason": attr_text(reason)} if reason else {})}
    start = time.perf_counter()
    try:
        branches = trace_branches(STEP_FUNCTIONS[rnn.rnn_type], rnn.params, fps, u, slow_xstar=slow,
                                  **values(options))
    except ValueError as error:
        raise ValueError(f"{fixed_points_path}: {error}") from None
    attrs["wall_s"] = time.perf_counter() - start
    params = {k: np.asarray(v, np.float64) for k, v in rnn.params.items()}
    return build_graph(fps, branches, readout=lambda x: readout(params, x), attrs=attrs)
