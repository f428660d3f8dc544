"""Figures of the saddle–attractor graph: one run's graph over its PCA view, and topology classes across runs.

The per-run figure projects the graph into the plane of the run's PCA figure: PCA (scikit-learn)
fitted on every finite state of the trajectories [trials, time, d], z = (x − mean) Vᵀ with V the
first two principal axes. Nodes sit at their projected positions (attractors filled black and
labelled with the output bit pattern they hold, saddles open circles coloured by index, slow
points grey crosses) and every branch is drawn along its computed path, in the colour of the saddle
it leaves. Artists carry gids: ``"trajectory"``, ``"branch_path"`` (one line per saddle index, its
branches separated by NaN rows),
``"node:attractor"``, ``"node:index{k}"``, ``"node:marginal"``, ``"node:slow"`` (markers),
``"pattern"`` (one text per attractor), ``"message"``.

The aggregate figure counts, per task and architecture, the runs of each topology class: the
runs that are hypercubes form the class ``hypercube``; every other run is classed by the hash of
its skeleton (attractors and index-1 saddles, `topology.skeleton_hash`). Gids:
``"topology_class:{task}:{arch}:{class}"`` (bar segments), ``"class_note:{task}:{arch}"`` (text).
"""

from __future__ import annotations

import os
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .common import (DPI, FONT_SIZE, MARGINAL_COLOR, MINUS, STABLE_COLOR, NotebookFigure, index_color, paper_style,
                     plot_message)
from .pca import pca_projection
from .sweep import table_flag, table_missing
from .views import DEFAULT_TRIALS, Projection, StateSpaceAxes, bit_patterns, finite_states

HYPERCUBE_COLOR = "#2ca02c"
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728")
SKIPPED_COLOR = "#c7c7c7"


def graph_title(graph, prefix: str | None = None) -> str:
    """``"{prefix}: hypercube, {e} index-1 edges"`` (or ``not a hypercube``; counts without patterns)."""
    from ..topology import is_hypercube, n_index1_edges, nodes_of_kind

    if graph.graph.get("n_outputs"):
        shape = "hypercube" if is_hypercube(graph) else "not a hypercube"
    else:
        shape = f"{len(nodes_of_kind(graph, 'attractor'))} attractors"
    text = f"{shape}, {n_index1_edges(graph)} index-1 edges"
    return f"{prefix}: {text}" if prefix else text


@paper_style
def plot_graph(graph, state_traj, *, projection: Projection | None = None, readout=None, trials: int = DEFAULT_TRIALS,
               title: str | None = None, note: str | None = None, figsize=(5.6, 5.0)) -> Figure:
    """One run's saddle–attractor graph (`topology.build_graph` / `load_graph`) in a view of its state space.

    ``projection`` is the view (`views.Projection`; default: the first two principal components of the
    trajectories ``state_traj`` [trials, time, d]); ``readout`` (states → outputs, e.g. a
    `readout.Readout`) names the attractors by bit pattern, else their stored patterns do. Branches are
    drawn along their paths, coloured by their saddle's index; the first ``trials`` trajectories as thin
    light lines underneath. ``title`` defaults to `graph_title`; ``note`` is printed in a corner."""
    title = graph_title(graph) if title is None else title
    d = int(graph.graph.get("state_size", 0))
    traj = np.asarray(state_traj, np.float64)
    if traj.ndim != 3 or (d and traj.shape[2] != d):
        raise ValueError(f"state_traj must have shape [trials, time, {d}], got {list(traj.shape)}")
    states = finite_states(traj)
    suffix = f"\n{note}" if note else ""
    if projection is None:
        if traj.shape[2] < 2 or states.shape[0] < 3:
            return plot_message("no 2-D projection: the state has fewer than 2 dimensions or the trajectories fewer "
                                "than 3 finite states" + suffix, title, figsize)
        projection, _ = pca_projection(states, 2)
    fig = NotebookFigure(figsize=figsize, dpi=DPI, layout="constrained")
    view = StateSpaceAxes(fig.add_subplot(), projection)
    view.trajectories(traj, list(range(min(int(trials), traj.shape[0]))), 0)
    nodes = dict(graph.nodes(data=True))
    branches = graph.graph.get("branches")
    if branches is not None and len(branches.saddle):
        rows = range(len(branches.saddle))
        view.paths([branches.path[row, : branches.path_length[row]] for row in rows],
                   [index_color(nodes[int(branches.saddle[row])]["index"]) for row in rows], linewidth=0.9,
                   alpha=0.8, gid="branch_path", zorder=2)
        view.legend["branch"] = Line2D([], [], color="0.3", linewidth=0.9, label="branches (by saddle index)")
    groups = [("attractor", "attractor", STABLE_COLOR, "o", "full")]
    groups += [(f"index{k}", f"saddle, index {k}", index_color(k), "o", "none")
               for k in sorted({a["index"] for a in nodes.values() if a["kind"] == "saddle"})]
    groups += [("marginal", "marginal |λ| = 1", MARGINAL_COLOR, "o", "none"),
               ("slow", "slow point", MARGINAL_COLOR, "D", "none")]
    for name, label, color, marker, fill in groups:
        members = [node for node, a in nodes.items()
                   if (a["kind"] == "saddle" and f"index{a['index']}" == name) or a["kind"] == name]
        if members:
            view.legend[name] = view.line(
                np.stack([nodes[node]["position"] for node in members]), linestyle="none", marker=marker,
                markersize=6 if marker == "o" else 3.5, color=color, fillstyle=fill,
                markeredgecolor=color if name != "attractor" else "white",
                markeredgewidth=1.2 if fill == "none" else 0.6,
                gid=f"node:{name}", zorder=4 if name == "attractor" else 3, label=f"{label} ({len(members)})")
    attractors = [a for a in nodes.values() if a["kind"] == "attractor"]
    if attractors:
        positions = np.stack([a["position"] for a in attractors])
        patterns = (bit_patterns(readout(positions)) if readout is not None
                    else [a["pattern"].replace("-", MINUS) for a in attractors] if all(a["pattern"] for a in attractors)
                    else None)
        if patterns:
            view.patterns(positions, patterns)
    message = ("no fixed points" if not nodes else "") + suffix
    if message.strip():
        view.message(message.strip())
    view.finish(projection(states) if len(states) else None)
    view.ax.set_title(title)
    handles = [view.legend[k] for k in ("trajectory", "branch", "attractor") if k in view.legend]
    handles += [view.legend[k] for k in view.legend if k.startswith("index")] + \
               [view.legend[k] for k in ("marginal", "slow") if k in view.legend]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=FONT_SIZE)
    return fig


def plot_graph_run(graph_path: str | os.PathLike, fixed_points_path: str | os.PathLike,
                   model_path: str | os.PathLike | None = None, *, trials: int = DEFAULT_TRIALS,
                   title: str | None = None) -> Figure:
    """The graph figure of one run from its ``graph.h5`` and ``fixed_points.h5`` (its ``states/hiddens``),
    in the run's main view when ``model_path`` is given (the readout panel of bits 1 and 2, the others
    nested, for N ≥ 3 bits; PCA for N ≤ 2: `run.main_view`), else in PCA.

    ``title`` (e.g. ``"3-bit tanh seed 4"``) is followed by `graph_title`; a run skipped upstream says why.
    """
    from ..fixed_points import load_fixed_points
    from ..io import load_model_arrays
    from ..topology import load_graph
    from .readout import Readout, axis_label, nested_axes

    graph = load_graph(graph_path)
    hiddens = load_fixed_points(fixed_points_path, groups=())["hiddens"]
    reason = graph.graph.get("skipped_reason")
    projection = readout = None
    if model_path is not None:
        readout = Readout.from_arrays(load_model_arrays(model_path)[1])
        if readout.n_bits >= 3:
            outputs = nested_axes(readout.n_bits, (0, 1))
            projection = readout.projection(hiddens.shape[2], outputs, tuple(axis_label(c) for c in outputs.T))
    return plot_graph(graph, hiddens, projection=projection, readout=readout, trials=trials,
                      title=graph_title(graph, title), note=f"skipped: {reason}" if reason else None)


def topology_classes(runs) -> list[dict]:
    """One record per (task, arch, class) of ``runs`` (a DataFrame or a mapping of equal-length columns
    ``task, arch, seed, is_hypercube, skeleton_hash, graph_hash``): ``task, arch, name, seeds,
    n_graphs`` (distinct full graphs among them). Classes: ``hypercube``; ``skipped`` (no graph
    hash); else ``class <first 6 hex digits of the skeleton hash>``. Order: tasks and architectures
    as first seen, then hypercube, the others by size (largest first), skipped last."""
    columns = {key: list(runs[key]) for key in ("task", "arch", "seed", "is_hypercube", "skeleton_hash",
                                                "graph_hash")}
    groups: dict[tuple, dict[str, list]] = {}
    for task, arch, seed, cube, skel, full in zip(*columns.values()):
        name = "skipped" if table_missing(full) else "hypercube" if table_flag(cube) else f"class {str(skel)[:6]}"
        groups.setdefault((task, arch), {}).setdefault(name, []).append((int(seed), full))
    records = []
    for (task, arch), classes in groups.items():
        rank = {name: (name != "hypercube", name == "skipped", -len(members), name)
                for name, members in classes.items()}
        for name in sorted(classes, key=rank.get):
            members = classes[name]
            records.append({"task": task, "arch": arch, "name": name, "seeds": sorted(s for s, _ in members),
                            "n_graphs": len({g for _, g in members})})
    return records


@paper_style
def plot_topology_classes(runs, figsize: tuple | None = None) -> Figure:
    """How many runs of each task and architecture share each topology class (see `topology_classes`):
    one panel per task, one horizontal bar per architecture, one segment per class (its run count
    inside; hypercube in green), and beside the bar the hypercube count, the number of distinct full
    graphs and the seeds of the runs that are not hypercubes and of those skipped."""
    records = topology_classes(runs)
    if not records:
        return plot_message("no runs", "topology classes")
    tasks = list(dict.fromkeys(r["task"] for r in records))
    fig = NotebookFigure(figsize=figsize or (9.0, 1.2 + 1.4 * len(tasks)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(tasks), 1, squeeze=False)[:, 0]
    others = sorted({r["name"] for r in records} - {"hypercube", "skipped"})
    colors = {"hypercube": HYPERCUBE_COLOR, "skipped": SKIPPED_COLOR,
              **{name: CLASS_COLORS[i % len(CLASS_COLORS)] for i, name in enumerate(others)}}
    for ax, task in zip(axes, tasks):
        mine = [r for r in records if r["task"] == task]
        archs = list(dict.fromkeys(r["arch"] for r in mine))
        width = max(sum(len(r["seeds"]) for r in mine if r["arch"] == arch) for arch in archs)
        for y, arch in enumerate(archs):
            left = 0
            rows = [r for r in mine if r["arch"] == arch]
            for r in rows:
                count = len(r["seeds"])
                ax.barh(y, count, left=left, color=colors[r["name"]], edgecolor="white",
                        gid=f"topology_class:{task}:{arch}:{r['name']}")
                ax.text(left + count / 2, y, str(count), ha="center", va="center", fontsize=FONT_SIZE)
                left += count
            total = sum(len(r["seeds"]) for r in rows)
            cubes = sum(len(r["seeds"]) for r in rows if r["name"] == "hypercube")
            graphs = sum(r["n_graphs"] for r in rows if r["name"] != "skipped")
            note = f"hypercube {cubes}/{total}, {graphs} distinct graph{'s' * (graphs != 1)}"
            for what, names in (("not hypercube", lambda name: name not in ("hypercube", "skipped")),
                                ("skipped", lambda name: name == "skipped")):
                seeds = sorted(s for r in rows if names(r["name"]) for s in r["seeds"])
                note += f"; {what}: seed{'s' * (len(seeds) != 1)} {', '.join(map(str, seeds))}" if seeds else ""
            ax.text(width * 1.02, y, note, va="center", fontsize=FONT_SIZE, gid=f"class_note:{task}:{arch}")
        ax.set_yticks(range(len(archs)), archs, fontsize=FONT_SIZE)
        ax.set_xlim(0, width * 2.2)
        ax.set_xticks(np.unique(np.linspace(0, width, min(width, 5) + 1).round().astype(int)))
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylim(len(archs) - 0.5, -0.5)
        ax.set_xlabel("runs", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE)
        ax.set_title(f"{task}: topology classes", fontsize=10)
    present = [name for name in ["hypercube", *others, "skipped"] if any(r["name"] == name for r in records)]
    handles = [Line2D([], [], color=colors[name], linewidth=8, label=name) for name in present]
    fig.legend(handles=handles, loc="outside right upper", fontsize=FONT_SIZE, title="class",
               title_fontsize=FONT_SIZE)
    return fig

