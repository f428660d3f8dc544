"""Figures of the saddle–attractor graph: one run's graph over its PCA view, and topology classes across runs.

The per-run figure projects the graph into the plane of the run's PCA figure: PCA (scikit-learn)
fitted on every finite state of the trajectories [trials, time, d], z = (x − mean) Vᵀ with V the
first two principal axes. Nodes sit at their projected positions (attractors filled black and
labelled with the output bit pattern they hold, saddles open circles coloured by index, slow
points grey crosses) and every branch is drawn along its computed path, in the colour of the saddle
it leaves. Artists carry gids: ``"trajectory"``, ``"branch_path"`` (one line per branch),
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

from .common import (DPI, FONT_SIZE, MARGINAL_COLOR, STABLE_COLOR, TRAJECTORY_COLOR, NotebookFigure, index_color,
                     paper_style, plot_message)
from .pca import principal_axes
from .sweep import table_flag, table_missing
from .views import DEFAULT_TRIALS

HYPERCUBE_COLOR = "#2ca02c"
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728")
SKIPPED_COLOR = "#c7c7c7"


def trajectory_projection(state_traj) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """PCA of the finite states of ``state_traj`` [trials, time, d]: (mean [d], axes [2, d], explained
    variance ratio [2]), the axes of the run's PCA figure (`plotting.pca.principal_axes`); None when there
    are fewer than 3 finite states or d < 2. A point x [k, d] projects to (x − mean) @ axes.T."""
    traj = np.asarray(state_traj, np.float64)
    if traj.ndim != 3:
        raise ValueError(f"state_traj must have shape [trials, time, d], got {list(traj.shape)}")
    states = traj.reshape(-1, traj.shape[2])
    states = states[np.all(np.isfinite(states), axis=1)]
    if traj.shape[2] < 2 or states.shape[0] < 3:
        return None
    mean, axes, ratio = principal_axes(states)
    return mean, axes[:2], ratio[:2]


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
def plot_graph(graph, state_traj, *, trials: int = DEFAULT_TRIALS, title: str | None = None, note: str | None = None,
               figsize=(8.0, 5.2)) -> Figure:
    """One run's saddle–attractor graph (`topology.build_graph` / `load_graph`) over the first two
    principal components of its trajectories ``state_traj`` [trials, time, d] (the first ``trials``
    drawn as thin lines). ``title`` defaults to `graph_title`; ``note`` is printed in a corner."""
    title = graph_title(graph) if title is None else title
    d = int(graph.graph.get("state_size", 0))
    traj = np.asarray(state_traj, np.float64)
    if traj.ndim != 3 or (d and traj.shape[2] != d):
        raise ValueError(f"state_traj must have shape [trials, time, {d}], got {list(traj.shape)}")
    projection = trajectory_projection(traj)
    suffix = f"\n{note}" if note else ""
    if projection is None:
        return plot_message("no 2-D projection: the state has fewer than 2 dimensions or the trajectories fewer "
                            "than 3 finite states" + suffix, title, figsize)
    mean, axes, ratio = projection

    def project(x_kxd):
        return (np.asarray(x_kxd, np.float64).reshape(-1, d) - mean) @ axes.T

    fig = NotebookFigure(figsize=figsize, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    legend: list = []
    for i in range(min(int(trials), traj.shape[0])):
        z = project(traj[i])
        line = ax.plot(z[:, 0], z[:, 1], color=TRAJECTORY_COLOR, linewidth=0.4, alpha=0.2, gid="trajectory",
                       zorder=1)[0]
        if i == 0:
            line.set_label("trajectories")
            legend.append(line)
    nodes = dict(graph.nodes(data=True))
    branches = graph.graph.get("branches")
    if branches is not None:
        for row in range(len(branches.saddle)):
            z = project(branches.path[row, : branches.path_length[row]])
            ax.plot(z[:, 0], z[:, 1], color=index_color(nodes[int(branches.saddle[row])]["index"]), linewidth=1.0,
                    alpha=0.8, gid="branch_path", zorder=2)
        if len(branches.saddle):
            legend.append(Line2D([], [], color="0.3", linewidth=1.0, label="branches (coloured by saddle index)"))
    groups = [("attractor", "attractor", STABLE_COLOR, "o", "full")]
    groups += [(f"index{k}", f"saddle, index {k}", index_color(k), "o", "none")
               for k in sorted({a["index"] for a in nodes.values() if a["kind"] == "saddle"})]
    groups += [("marginal", "marginal |λ|=1", MARGINAL_COLOR, "o", "none"), ("slow", "slow point", MARGINAL_COLOR,
                                                                              "x", "full")]
    for name, label, color, marker, fill in groups:
        members = [node for node, a in nodes.items()
                   if (a["kind"] == "saddle" and f"index{a['index']}" == name) or a["kind"] == name]
        if not members:
            continue
        z = project(np.stack([nodes[node]["position"] for node in members]))
        legend.append(ax.plot(z[:, 0], z[:, 1], linestyle="none", marker=marker, markersize=7, color=color,
                              fillstyle=fill, markeredgewidth=1.5, gid=f"node:{name}", zorder=3,
                              label=f"{label} ({len(members)})")[0])
    for node, a in nodes.items():
        if a["kind"] == "attractor" and a["pattern"]:
            z = project(a["position"])[0]
            ax.annotate(a["pattern"], (z[0], z[1]), xytext=(5, 5), textcoords="offset points", fontsize=FONT_SIZE,
                        gid="pattern", zorder=4)
    message = ("no fixed points" if not nodes else "") + suffix
    if message.strip():
        ax.text(0.02, 0.02, message.strip(), transform=ax.transAxes, fontsize=FONT_SIZE, gid="message")
    ax.set_xlabel(f"PC 1 ({100 * ratio[0]:.1f}% var.)")
    ax.set_ylabel(f"PC 2 ({100 * ratio[1]:.1f}% var.)")
    ax.set_title(title)
    if legend:
        fig.legend(handles=legend, loc="outside right upper", fontsize=FONT_SIZE)
    return fig


def plot_graph_run(graph_path: str | os.PathLike, fixed_points_path: str | os.PathLike, *, trials: int = DEFAULT_TRIALS,
                   title: str | None = None) -> Figure:
    """The graph figure of one run from its ``graph.h5`` and ``fixed_points.h5`` (its ``states/hiddens``).

    ``title`` (e.g. ``"3-bit tanh seed 4"``) is followed by `graph_title`; a run skipped upstream says why.
    """
    from ..fixed_points import load_fixed_points
    from ..topology import load_graph

    graph = load_graph(graph_path)
    hiddens = load_fixed_points(fixed_points_path, groups=())["hiddens"]
    reason = graph.graph.get("skipped_reason")
    return plot_graph(graph, hiddens, trials=trials, title=graph_title(graph, title),
                      note=f"skipped: {reason}" if reason else None)


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

