"""fixedpoints.summary (the runs table behind results/summary/runs.csv) on hand-made run folders."""

import math

import numpy as np
import pandas as pd
import pytest

from fixedpoints import FlipFlopData, RNN, TrainingHistory, save_data, save_model
from fixedpoints.fixed_points import FixedPoints
from fixedpoints.memory import MemoryCensus, PatternMemory, all_patterns, census_settings, save_memories
from fixedpoints.topology import graph_columns, save_graph
from test_topology import decoupled_graph
from fixedpoints.summary import parse_run_dir, read_runs_csv, summarize_runs, training_curve, write_runs_csv



def census(held_kinds, n_bits, d):
    """A memory census whose patterns end as ``held_kinds`` ((held, end_kind) per pattern)."""
    memories = tuple(PatternMemory(np.asarray(pattern, np.int8), held, -1 if held else 5, kind, np.zeros(d), 0.0,
                                   -1, np.inf, -1, np.inf, -1, -1, 1, int(held))
                     for pattern, (held, kind) in zip(all_patterns(n_bits), held_kinds, strict=True))
    return MemoryCensus(memories, census_settings(8))


def make_run(root, task, arch, seed, n_bits, n_hidden, *, n_unstable=None, diverged=False, benchmarks=None,
             slow=None, memories=None, graph=None):
    """A run folder with data.h5, model.h5 (history given here) and fixed_points.h5 with points of
    the given saddle indices (``None``: an analysis skipped because training diverged), optionally
    ``slow`` slow points, a memory census and a graph.h5."""
    folder = root / task / arch / f"seed{seed}"
    gen = FlipFlopData(n_bits=n_bits, n_time=8, random_seed=seed)
    save_data(folder / "data.h5", {s: gen.generate_data(4) for s in ("train", "valid", "test")},
              n_bits=n_bits, n_time=8, p=0.5, seed=seed)
    rnn = RNN.init(arch, n_bits, n_hidden, n_bits, seed=seed)
    losses = np.array([0.5, 0.1, np.nan if diverged else 0.01])
    history = TrainingHistory(train_loss=losses, valid_loss=np.array([0.2, 0.02]), valid_epoch=np.array([1, 2]),
                              epochs=3, converged=not diverged, diverged=diverged, wall_s=1.0,
                              hyperparameters={"seed": seed})
    save_model(rnn, folder / "model.h5", history=history)
    d = rnn.state_size
    if n_unstable is None:
        fps, attrs = FixedPoints(np.zeros((0, d)), np.zeros((0, d)), np.zeros((0, n_bits)), np.zeros((0, d)),
                                 np.zeros(0), np.zeros(0), np.zeros(0, int), is_stable=np.zeros(0, bool),
                                 n_unstable=np.zeros(0, int)), {"skipped_reason": "training diverged"}
    else:
        n = len(n_unstable)
        rng = np.random.default_rng(seed)
        fps, attrs = FixedPoints(rng.normal(size=(n, d)), rng.normal(size=(n, d)), np.zeros((n, n_bits)),
                                 rng.normal(size=(n, d)), np.zeros(n), np.zeros(n), np.ones(n, int),
                                 is_stable=np.asarray(n_unstable) == 0, n_unstable=n_unstable), {}
    slow_fps = None if slow is None else FixedPoints(np.ones((slow, d)), np.ones((slow, d)), np.zeros((slow, n_bits)),
                                                     np.ones((slow, d)), np.ones(slow), np.zeros(slow),
                                                     np.ones(slow, int))
    groups = {} if memories is None else {"memories": lambda group: save_memories(group, census(memories, n_bits, d))}
    fps.save(folder / "fixed_points.h5", attrs={"wall_s": 2.0, **attrs}, slow_fps=slow_fps, extra_groups=groups)
    if graph is not None:
        save_graph(folder / "graph.h5", graph)
    if benchmarks is not None:
        for rule, seconds in benchmarks.items():
            path = root / "benchmarks" / rule / task / arch / f"seed{seed}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{seconds}\t0:00:0{int(seconds)}\t100.0\t1.0\n")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    folders = [
        make_run(root, "2bit", "tanh", 0, 2, 3, n_unstable=[0, 0, 0, 0, 1, 1, 1, 1, 2],
                 benchmarks={"generate_data": 1.5, "train": 4.25, "find_fixed_points": 7.0, "topology": 0.5},
                 slow=3, memories=[(True, "stable_point"), (True, "slow_point"), (True, "stable_point"),
                                   (False, "drifting")], graph=decoupled_graph(1.5, 2)),
        make_run(root, "2bit", "tanh", 1, 2, 3, n_unstable=None, diverged=True),
        make_run(root, "3bit", "lstm", 4, 3, 2, n_unstable=[0, 0, 1, 4]),      # state size 2·2 = 4
    ]
    return folders, summarize_runs(folders, root / "benchmarks")


def test_one_row_per_run_with_the_agreed_columns(runs):
    _, table = runs
    assert list(table.columns) == [
        "task", "arch", "seed", "n_bits", "n_hidden", "epochs", "final_train_loss", "final_valid_loss",
        "converged", "diverged", "n_fixed_points", "n_stable", "n_slow", "n_index_0", "n_index_1", "n_index_2",
        "n_index_3", "n_index_4", "certified", "n_certified", "finder_agrees", "n_memories",
        "n_memories_at_stable_points", "n_memories_at_slow_points",
        "is_hypercube", "n_index1_edges", "graph_hash", "skeleton_hash", "n_slow_ends", "n_branches_no_end",
        "fold_amplitude_min", "fold_amplitude_max", "flips_cleanly", "expected_stable", "expected_total",
        "wall_s_data", "wall_s_train", "wall_s_fixed_points", "wall_s_topology", "wall_s_continuation"]
    assert list(zip(table.task, table.arch, table.seed, strict=True)) == [("2bit", "tanh", 0), ("2bit", "tanh", 1),
                                                                          ("3bit", "lstm", 4)]
    assert list(table.expected_stable) == [4, 4, 8] and list(table.expected_total) == [9, 9, 27]


def test_counts_follow_the_saddle_indices(runs):
    _, table = runs
    first, lstm = table.iloc[0], table.iloc[2]
    assert (first.n_fixed_points, first.n_stable) == (9, 4)
    assert [first[f"n_index_{k}"] for k in range(5)] == [4, 4, 1, 0, 0]     # index above d=3 counts 0
    assert (lstm.n_fixed_points, lstm.n_stable) == (4, 2)
    assert [lstm[f"n_index_{k}"] for k in range(5)] == [2, 1, 0, 0, 1]
    assert (first.epochs, first.final_train_loss, first.final_valid_loss) == (3, 0.01, 0.02)
    assert bool(first.converged) and not first.diverged


def test_slow_points_memory_census_and_graph_columns_come_from_the_run_files(runs):
    _, table = runs
    first, lstm = table.iloc[0], table.iloc[2]
    assert (first.n_slow, first.n_memories, first.n_memories_at_stable_points, first.n_memories_at_slow_points) == \
        (3, 3, 2, 1)
    expected = graph_columns(decoupled_graph(1.5, 2))          # the square: a hypercube with 4 index-1 edges
    assert expected["is_hypercube"] and expected["n_index1_edges"] == 4
    assert {key: first[key] for key in expected} == expected
    assert pd.isna(lstm.n_slow) and pd.isna(lstm.n_memories) and pd.isna(lstm.is_hypercube)   # no such files
    assert table.wall_s_topology[0] == 0.5


def test_a_diverged_run_stays_with_missing_counts(runs):
    _, table = runs
    row = table.iloc[1]
    assert bool(row.diverged) and not bool(row.converged) and math.isnan(row.final_train_loss)
    for column in ["n_fixed_points", "n_stable"] + [f"n_index_{k}" for k in range(5)]:
        assert pd.isna(row[column]), column


def test_wall_times_come_from_the_benchmark_files(runs):
    _, table = runs
    assert (table.wall_s_data[0], table.wall_s_train[0], table.wall_s_fixed_points[0]) == (1.5, 4.25, 7.0)
    assert table.wall_s_train[1:].isna().all()                               # no benchmark file: NaN


def test_csv_round_trip_keeps_values_and_types(runs, tmp_path):
    _, table = runs
    write_runs_csv(table, tmp_path / "summary" / "runs.csv")
    header, _, diverged_line, _ = (tmp_path / "summary" / "runs.csv").read_text().splitlines()
    fields = dict(zip(header.split(","), diverged_line.split(","), strict=True))
    assert all(fields[c] == "" for c in fields if c.startswith(("n_fixed", "n_stable", "n_index"))), fields
    assert (fields["n_bits"], fields["diverged"], fields["expected_total"]) == ("2", "True", "9")
    back = read_runs_csv(tmp_path / "summary" / "runs.csv")
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert [p.name for p in (tmp_path / "summary").iterdir()] == ["runs.csv"]     # no temporary left


def test_training_curve_of_a_run(runs):
    folders, _ = runs
    curve = training_curve(folders[1])
    assert (curve["task"], curve["arch"], curve["seed"], curve["converged"], curve["diverged"]) == \
        ("2bit", "tanh", 1, False, True)
    np.testing.assert_array_equal(curve["train_loss"], [0.5, 0.1, np.nan])


@pytest.mark.parametrize("bad", ["results/2bit/tanh", "results/2bit/tanh/seedX", "seed1"])
def test_a_folder_that_is_not_a_run_is_named(bad):
    with pytest.raises(ValueError, match=bad):
        parse_run_dir(bad)
