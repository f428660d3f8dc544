"""The runs table of a sweep: one row per run (task, architecture, seed) built from its files.

A run's files live in ``{root}/{task}/{arch}/seed{seed}/`` (``data.h5``, ``model.h5``,
``fixed_points.h5``); the wall time of each stage is the ``s`` column of its benchmark file
``{benchmarks}/{stage}/{task}/{arch}/seed{seed}.tsv`` (Snakemake's ``benchmark:`` format), NaN
where there is none. Columns of the table, in order:

``task, arch, seed, n_bits, n_hidden, epochs, final_train_loss, final_valid_loss, converged,
diverged, n_fixed_points, n_stable, n_slow, n_index_0 … n_index_D, certified, n_certified, finder_agrees, n_memories,
n_memories_at_stable_points, n_memories_at_slow_points, is_hypercube, n_index1_edges, graph_hash,
skeleton_hash, n_slow_ends, n_branches_no_end, fold_amplitude_min, fold_amplitude_max, flips_cleanly,
expected_stable, expected_total, wall_s_data, wall_s_train, wall_s_fixed_points, wall_s_topology,
wall_s_continuation``

``n_slow`` counts the run's slow and marginal points (the ``slow`` group of fixed_points.h5);
``certified``, ``n_certified`` and ``finder_agrees`` come from its interval certificate
(`fixedpoints.certification`; NA where the run was not certified);
``n_index_k`` counts the unique fixed points with exactly k Jacobian eigenvalues of modulus > 1
(k = 0 … D, D the largest state size of the sweep; k above a run's own state size counts 0); the
``n_memories…`` columns are the memory census (`fixedpoints.memory`), the graph columns those of
`fixedpoints.topology.graph_columns` (from ``graph.h5``, absent: NA), the fold columns those of
`fixedpoints.branches.flip_columns` (from ``continuation.h5``, absent: NA);
``expected_stable = 2^N`` and ``expected_total = 3^N`` are the idealised counts of an N-bit
flip-flop. A diverged run, or one whose fixed-point analysis was skipped (root attribute
``skipped_reason``), has missing (NA) counts: nothing was analysed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import branches, provenance
from .certification import CERTIFICATE_COLUMNS, certificate_columns
from .fixed_points import FIXED_POINTS_SCHEMA, load_fixed_points
from .io import DATA_SCHEMA, MODEL_SCHEMA, FileFormatError, atomic_path, load_data, load_history, load_model, read_h5
from . import topology
from .memory import COUNT_COLUMNS as MEMORY_COLUMNS
from .memory import memory_columns
from .topology import index_census

STAGES = {"data": "generate_data", "train": "train", "fixed_points": "find_fixed_points", "topology": "topology",
          "continuation": "continuation"}
"""Stage name in the table (``wall_s_<stage>``) → Snakemake rule writing its benchmark file."""

RUN_DIR = re.compile(r"(?P<task>[^/]+)/(?P<arch>[^/]+)/seed(?P<seed>\d+)")

HEAD_COLUMNS = ["task", "arch", "seed", "n_bits", "n_hidden", "epochs", "final_train_loss",
                "final_valid_loss", "converged", "diverged", "n_fixed_points", "n_stable", "n_slow"]
ANALYSIS_COLUMNS = [*CERTIFICATE_COLUMNS, *MEMORY_COLUMNS, *topology.COLUMNS, *branches.COLUMNS]
TAIL_COLUMNS = ["expected_stable", "expected_total"] + [f"wall_s_{stage}" for stage in STAGES]
COLUMN_TYPES = {**{c: "Int64" for c in ("seed", "n_bits", "n_hidden", "epochs", "n_fixed_points", "n_stable", "n_slow",
                                        *MEMORY_COLUMNS, "n_index1_edges", "n_slow_ends", "n_branches_no_end",
                                        "expected_stable", "expected_total")},
                "converged": "boolean", "diverged": bool, "final_train_loss": float, "final_valid_loss": float,
                "is_hypercube": "boolean", "graph_hash": "string", "skeleton_hash": "string", "certified": "boolean",
                "n_certified": "Int64", "finder_agrees": "boolean",
                "fold_amplitude_min": float, "fold_amplitude_max": float, "flips_cleanly": "boolean",
                **{f"wall_s_{stage}": float for stage in STAGES}}
"""Column types of the table (nullable integers and booleans: NA where a value does not exist)."""


def parse_run_dir(run_dir: str | os.PathLike) -> tuple[str, str, int]:
    """``.../{task}/{arch}/seed{seed}`` → (task, arch, seed); ValueError naming the path otherwise."""
    parts = Path(run_dir).parts[-3:]
    match = RUN_DIR.fullmatch("/".join(parts))
    if match is None:
        raise ValueError(f"{run_dir}: not a run folder, expected .../<task>/<arch>/seed<integer>")
    return match["task"], match["arch"], int(match["seed"])


def benchmark_wall_s(path: str | os.PathLike | None) -> float:
    """The wall time ``s`` (seconds) of a Snakemake benchmark file; NaN when there is no file."""
    if path is None or not Path(path).is_file():
        return float("nan")
    try:
        table = pd.read_csv(path, sep="\t")
        return float(table["s"].iloc[0])
    except (ValueError, KeyError, IndexError, pd.errors.ParserError) as error:
        raise FileFormatError(f"{path}: not a Snakemake benchmark file ({error})") from None


def summarize_run(run_dir: str | os.PathLike, benchmarks: str | os.PathLike | None = None) -> dict:
    """One row of the runs table for the run in ``run_dir``, plus ``index_counts`` [d+1] (or None).

    ``benchmarks`` is the folder of Snakemake benchmark files (None: wall times are NaN).
    """
    run_dir = Path(run_dir)
    task, arch, seed = parse_run_dir(run_dir)
    _, data_attrs = load_data(run_dir / "data.h5")
    rnn = load_model(run_dir / "model.h5")
    history = load_history(run_dir / "model.h5")
    found = load_fixed_points(run_dir / "fixed_points.h5", groups=("unique",))
    n_bits = data_attrs["n_bits"]
    diverged = bool(history.diverged) if history is not None else False
    row = {"task": task, "arch": arch, "seed": seed, "n_bits": n_bits, "n_hidden": rnn.n_hidden,
           "epochs": history.epochs if history is not None else pd.NA,
           "final_train_loss": history.final_train_loss if history is not None else np.nan,
           "final_valid_loss": history.final_valid_loss if history is not None else np.nan,
           "converged": bool(history.converged) if history is not None else pd.NA,
           "diverged": diverged, "n_fixed_points": pd.NA, "n_stable": pd.NA, "n_slow": pd.NA, "index_counts": None,
           "state_size": rnn.state_size, "expected_stable": 2 ** n_bits, "expected_total": 3 ** n_bits,
           **dict.fromkeys(CERTIFICATE_COLUMNS, pd.NA), **memory_columns(None),
           **dict.fromkeys(topology.COLUMNS, pd.NA),
           "fold_amplitude_min": np.nan, "fold_amplitude_max": np.nan, "flips_cleanly": pd.NA}
    if not diverged and "skipped_reason" not in found["attrs"]:
        unique = found["unique"]
        if unique.n_unstable is None or unique.is_stable is None:
            raise FileFormatError(f"{run_dir / 'fixed_points.h5'}: group /unique lacks is_stable/n_unstable "
                                  "(the Jacobians were not decomposed)")
        row["n_fixed_points"] = unique.n
        row["n_stable"] = int(np.sum(unique.is_stable))
        row["index_counts"] = index_census(unique.n_unstable, rnn.state_size)
        row.update(slow_and_memory_columns(run_dir / "fixed_points.h5"))
        for name, columns in (("graph.h5", topology.run_columns), ("continuation.h5", branches.continuation_columns)):
            if (run_dir / name).is_file():
                row.update({k: pd.NA if v is None else v for k, v in columns(run_dir / name).items()})
    for stage, rule in STAGES.items():
        path = None if benchmarks is None else Path(benchmarks, rule, task, arch, f"seed{seed}.tsv")
        row[f"wall_s_{stage}"] = benchmark_wall_s(path)
    return row


def slow_and_memory_columns(path: str | os.PathLike) -> dict:
    """``n_slow`` (rows of the ``slow`` group), the certificate's and the memory census's columns of a
    ``fixed_points.h5`` (NA where the file has no such group)."""
    with read_h5(path, FIXED_POINTS_SCHEMA) as f:
        n_slow = int(f["slow"]["xstar"].shape[0]) if "slow" in f else pd.NA
        try:
            memories = memory_columns(f["memories"] if "memories" in f else None)
        except ValueError as error:
            raise FileFormatError(f"{path}: {error}") from None
        proof = certificate_columns(f["certificate"] if "certificate" in f else None)
    return {"n_slow": n_slow, **{k: pd.NA if v is None else v for k, v in proof.items()}, **memories}


def runs_table(rows: Sequence[Mapping]) -> pd.DataFrame:
    """The runs table (columns in the module's order) from rows of `summarize_run`."""
    if not rows:
        raise ValueError("no runs to summarise")
    max_d = max(int(row["state_size"]) for row in rows)
    index_columns = [f"n_index_{k}" for k in range(max_d + 1)]
    records = []
    for row in rows:
        record = {key: row[key] for key in HEAD_COLUMNS + ANALYSIS_COLUMNS + TAIL_COLUMNS}
        counts = row["index_counts"]
        for k, column in enumerate(index_columns):
            record[column] = pd.NA if counts is None else int(counts[k]) if k < len(counts) else 0
        records.append(record)
    table = pd.DataFrame.from_records(records, columns=HEAD_COLUMNS + index_columns + ANALYSIS_COLUMNS + TAIL_COLUMNS)
    return table.astype({**COLUMN_TYPES, **{c: "Int64" for c in index_columns}})


def training_curve(run_dir: str | os.PathLike) -> dict:
    """``{task, arch, seed, train_loss [epochs], converged, diverged}`` of a run (empty curve if untrained)."""
    task, arch, seed = parse_run_dir(run_dir)
    history = load_history(Path(run_dir) / "model.h5")
    if history is None:
        return {"task": task, "arch": arch, "seed": seed, "train_loss": np.zeros(0), "converged": False,
                "diverged": False}
    return {"task": task, "arch": arch, "seed": seed, "train_loss": np.asarray(history.train_loss),
            "converged": bool(history.converged), "diverged": bool(history.diverged)}


def summarize_runs(run_dirs: Iterable[str | os.PathLike],
                   benchmarks: str | os.PathLike | None = None) -> pd.DataFrame:
    """The runs table of the runs in ``run_dirs`` (in that order)."""
    return runs_table([summarize_run(run_dir, benchmarks) for run_dir in run_dirs])


def provenance_table(run_dirs: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """What made the HDF5 files of the runs: one row per distinct provenance (`fixedpoints.provenance`).

    Columns: ``set`` (1, 2, … by number of files, most first), ``n_files``, ``runs`` (space-separated
    ``task/arch/seed<seed>``; ``…/<file>`` for a file whose run's other files were made by other
    software), ``differs_in`` (the keys whose values differ between the sets, the same in every row;
    empty when one software made everything), then one column per provenance key.
    """
    schemas = {"data.h5": DATA_SCHEMA, "model.h5": MODEL_SCHEMA, "fixed_points.h5": FIXED_POINTS_SCHEMA}
    files = {}   # provenance values -> {run name: [file names]}
    for run_dir in run_dirs:
        run = "{}/{}/seed{}".format(*parse_run_dir(run_dir))
        for name, schema in schemas.items():
            with read_h5(Path(run_dir, name), schema) as f:
                values = tuple(provenance.from_attrs(f.attrs).values())
            files.setdefault(values, {}).setdefault(run, []).append(name)
    if not files:
        raise ValueError("no runs to summarise")
    by_size = sorted(files.items(), key=lambda item: -sum(map(len, item[1].values())))   # stable: ties keep order
    differs = [key for k, key in enumerate(provenance.KEYS) if len({values[k] for values in files}) > 1]
    rows = [{"set": number, "n_files": sum(map(len, runs.values())),
             "runs": " ".join(run if len(names) == len(schemas) else " ".join(f"{run}/{name}" for name in names)
                              for run, names in runs.items()),
             "differs_in": " ".join(differs), **dict(zip(provenance.KEYS, values))}
            for number, (values, runs) in enumerate(by_size, start=1)]
    return pd.DataFrame.from_records(rows, columns=["set", "n_files", "runs", "differs_in", *provenance.KEYS])


def provenance_verdict(table: pd.DataFrame) -> str:
    """One plain sentence on a `provenance_table`: made by one software set, or by several and how they differ."""
    if len(table) == 1:
        return f"all {table['n_files'].sum()} files of the sweep were made by the same software and platform"
    return (f"WARNING: the runs of this sweep were made by {len(table)} different software sets or platforms "
            f"(they differ in: {table['differs_in'].iloc[0]}); the runs of each are listed in the provenance table")


def write_runs_csv(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the runs table as CSV (NA as an empty field), atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")


def read_runs_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a runs table written by `write_runs_csv`, with the same column types."""
    table = pd.read_csv(path)
    missing = [c for c in HEAD_COLUMNS + ANALYSIS_COLUMNS + TAIL_COLUMNS if c not in table.columns]
    if missing:
        raise FileFormatError(f"{path}: not a runs table, missing column(s) {missing}")
    index_columns = [c for c in table.columns if c.startswith("n_index_")]
    return table.astype({**COLUMN_TYPES, **{c: "Int64" for c in index_columns}})
