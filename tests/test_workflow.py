"""The Snakemake sweep: job counts of the default config, lint, and the tiny sweep end to end.

The tiny sweep (tests/sweep/config.yaml) runs once per module in a temporary copy of the workflow
(so the repository's results/ is untouched); the other tests read its files, then change one thing
at a time (a deleted model, a new seed, a changed setting) and check which jobs run again.
"""

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from fixedpoints import FlipFlopData, load_data, load_history, load_model
from fixedpoints.fixed_points import load_fixed_points
from fixedpoints.certification import CERTIFICATE_COLUMNS
from fixedpoints.branches import COLUMNS as FOLD_COLUMNS
from fixedpoints.branches import continuation_columns
from fixedpoints.memory import COUNT_COLUMNS as MEMORY_COLUMNS
from fixedpoints.memory import load_memories
from fixedpoints.summary import read_runs_csv
from fixedpoints.topology import COLUMNS as GRAPH_COLUMNS
from fixedpoints.topology import run_columns
from reliability_support import (assert_same_outputs, kill_group, make_workdir, report_variable, start_snakemake,
                                 wait_for)

ROOT = Path(__file__).resolve().parents[1]
SWEEP_CONFIG = ROOT / "tests" / "sweep" / "config.yaml"
RUN_RULES = ("generate_data", "train", "find_fixed_points", "topology", "continuation", "plot_run")
RUNS_COLUMNS = ["task", "arch", "seed", "n_bits", "n_hidden", "epochs", "final_train_loss", "final_valid_loss",
                "converged", "diverged", "n_fixed_points", "n_stable", "n_slow"]


def snakemake(workdir, *args, timeout=600):
    """Run ``snakemake`` in ``workdir`` (killed after ``timeout`` s); the venv's python runs the jobs."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = ["timeout", "-k", "10", str(timeout), str(Path(sys.executable).parent / "snakemake"), *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)


def planned_jobs(workdir, *args):
    """The jobs a dry run would execute: sorted (rule, seed or None) pairs."""
    result = snakemake(workdir, "--dry-run", *args, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    jobs = []
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:)", result.stdout):     # grouped jobs are indented
        match = re.match(r"\s*(?:local)?rule (\w+):", block)
        if match:
            seed = re.search(r"wildcards: .*seed=(\d+)", block)
            jobs.append((match[1], int(seed[1]) if seed else None))
    return sorted(jobs, key=str)


def job_counts(stdout):
    """The "Job stats" table of a dry run as {rule: count}."""
    table = stdout.split("Job stats:")[1].split("total")[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_default_config_dry_run_counts_jobs_per_rule():
    """config.yaml's runs_per_job groups consecutive seeds of each task: one job per group and stage (a group
    of one seed in the per-run job)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    size, seeds = config["runs_per_job"], config["seeds"]
    groups = [len(seeds[start:start + size]) for start in range(0, len(seeds), size)]
    n_pairs = len(config["tasks"]) * len(config["architectures"])
    n_batches = n_pairs * sum(n > 1 for n in groups)
    result = snakemake(ROOT, "--dry-run", "--quiet", "rules", timeout=120)
    assert result.returncode == 0, result.stderr
    expected = {**{rule: n_pairs * groups.count(1) for rule in RUN_RULES if groups.count(1)},
                **{f"{rule}_batch{k}": 1 for rule in RUN_RULES for k in range(n_batches)}, "aggregate": 1, "all": 1}
    assert job_counts(result.stdout) == expected


def shell_commands(workdir, *args):
    """The jobs' shell commands of a dry run, and its job counts per rule."""
    result = snakemake(workdir, "--dry-run", "--printshellcmds", *args, timeout=120)
    assert result.returncode == 0, result.stderr
    commands = [line.strip().removeprefix("Shell command: ") for line in result.stdout.splitlines()
                if line.strip().removeprefix("Shell command: ").startswith("python workflow/scripts/")]
    return commands, job_counts(result.stdout)


def runs_of(command):
    """The per-run script calls of a job's command: [(script, arguments, log)]; a run_batch.py job has several."""
    words = shlex.split(command)
    if words[1] == "workflow/scripts/run_batch.py":         # python run_batch.py SCRIPT RUNS > LOG 2>&1
        return [(words[2], tuple(shlex.split(run["args"])), run["log"]) for run in json.loads(words[3])]
    return [(words[1], tuple(words[2:-3]), words[-2])]       # python SCRIPT ARGS > LOG 2>&1


def test_default_sweep_draws_run_figures_as_png_and_the_summary_also_as_pdf(tmp_path):
    """config.yaml's run_figure_formats [png]: plot_run.py writes each run's six figures as PNG only (PDFs on
    request, e.g. the tiny sweep's [png, pdf]); the summary's figures are PNG and PDF."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    make_workdir(tmp_path, config)
    commands, _ = shell_commands(tmp_path)
    plots = [args for command in commands for script, args, _ in runs_of(command) if script.endswith("plot_run.py")]
    assert len(plots) == len(config["tasks"]) * len(config["architectures"]) * len(config["seeds"])
    for args in plots:
        files = [word for word in args if "." in Path(word).name and not word.endswith(".h5")]
        assert len(files) == 6 and all(word.endswith(".png") for word in files), args
    aggregate = next(command for command in commands if "scripts/aggregate.py" in command)
    assert aggregate.count(".pdf") == aggregate.count(".png") == 4


def test_runs_per_job_runs_the_per_run_commands_in_jobs_of_several_runs(tmp_path):
    """runs_per_job 3 over seeds 0-9: per task and stage, seeds 0-2, 3-5, 6-8 in one job each, seed 9 in its
    per-run job; together exactly the calls of the per-run sweep (runs_per_job 1), in seed order."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    make_workdir(tmp_path, {**config, "runs_per_job": 3})
    batched, counts = shell_commands(tmp_path)
    per_run, _ = shell_commands(tmp_path, "--config", "runs_per_job=1")
    n_groups = len(config["tasks"]) * len(config["architectures"]) * 3
    assert counts == {**{rule: len(config["tasks"]) * len(config["architectures"]) for rule in RUN_RULES},
                      **{f"{rule}_batch{k}": 1 for rule in RUN_RULES for k in range(n_groups)},
                      "aggregate": 1, "all": 1}
    calls = [runs_of(command) for command in batched]
    assert sorted(call for runs in calls for call in runs) == sorted(call for c in per_run for call in runs_of(c))
    for runs in calls:
        if len(runs) > 1:
            folders = [Path(args[args.index("--out") + 1] if "--out" in args else args[args.index("--model") + 1])
                       .parent for _, args, _ in runs]
            assert len(runs) == 3 and len({folder.parent for folder in folders}) == 1     # one task and arch
            seeds = [int(folder.name.removeprefix("seed")) for folder in folders]
            assert seeds in ([0, 1, 2], [3, 4, 5], [6, 7, 8])


@pytest.mark.parametrize("figures, options", [
    (["pca_3d", "pca_2d"], ["--out-2d", "--out-3d"]),
    (["graph"], ["--graph", "--out-graph"]),
    (["bifurcation", "fixed_points"], ["--continuation", "--out-main", "--out-bifurcation"]),
])
def test_run_figures_draws_only_those_figures_from_only_their_inputs(tmp_path, figures, options):
    """run_figures names the figures plot_run.py draws (in RUN_FIGURES' order, whatever the config's), and
    plot_run reads graph.h5 only for the graph figure and continuation.h5 only for the bifurcation diagram
    (the tiny sweep, both seeds in one job per stage; the per-run jobs draw in the tests below)."""
    config = yaml.safe_load(SWEEP_CONFIG.read_text())
    make_workdir(tmp_path, {**config, "run_figures": figures, "runs_per_job": 2})
    commands, _ = shell_commands(tmp_path)
    plots = [args for command in commands for script, args, _ in runs_of(command) if script.endswith("plot_run.py")]
    assert len(plots) == len(config["tasks"]) * len(config["architectures"]) * len(config["seeds"])
    names = {"--out-2d": "pca_2d", "--out-3d": "pca_3d", "--out-graph": "graph", "--out-main": "fixed_points",
             "--out-bifurcation": "bifurcation"}
    for args in plots:
        assert [word for word in args if word.startswith("--")] == ["--model", "--fixed-points", *options]
        folder = Path(args[args.index("--model") + 1]).parent
        drawn = [option for option in options if option in names]
        assert [list(args[args.index(option) + 1: args.index(option) + 3]) for option in drawn] == [
            [str(folder / f"{names[option]}.{suffix}") for suffix in ("png", "pdf")] for option in drawn]


def test_the_tutorials_work_alone_runs_no_graph_continuation_or_summary(tmp_path):
    """With run_figures [pca_2d, pca_3d], asking for every run's fixed points and PCA figures (what the seed
    tutorial makes; bench/sweep_vs_seed.py --seed-work) runs data, training, fixed points and drawing only."""
    config = yaml.safe_load(SWEEP_CONFIG.read_text())
    make_workdir(tmp_path, {**config, "run_figures": ["pca_2d", "pca_3d"]})
    targets = [f"results/{task}/{arch}/seed{seed}/{name}" for task in config["tasks"]
               for arch in config["architectures"] for seed in config["seeds"]
               for name in ("fixed_points.h5", "pca_2d.png", "pca_3d.png")]
    _, counts = shell_commands(tmp_path, *targets)
    assert counts == {rule: len(config["seeds"]) for rule in ("generate_data", "train", "find_fixed_points",
                                                              "plot_run")}


def test_no_run_figures_plans_no_drawing_and_the_rest_of_the_sweep(tmp_path):
    """run_figures []: no plot_run job; every other stage of every run, and the summary."""
    config = yaml.safe_load(SWEEP_CONFIG.read_text())
    make_workdir(tmp_path, {**config, "run_figures": []})
    _, counts = shell_commands(tmp_path)
    assert counts == {**{rule: len(config["seeds"]) for rule in RUN_RULES if rule != "plot_run"},
                      "aggregate": 1, "all": 1}


def test_lint_reports_nothing_but_the_missing_conda_directive():
    # The jobs' software is requirements.lock installed by pip (docs/reproducibility.md says why there is no
    # conda environment): the one lint allowed is Snakemake's advice to give every rule one.
    result = snakemake(ROOT, "--lint", timeout=120)
    output = result.stdout + result.stderr
    lints = re.findall(r"^    \* (.+?):$", output, re.MULTILINE)
    assert "Lints for" in output or result.returncode == 0, output
    assert set(lints) <= {"Specify a conda environment or container for each rule."}, output
    assert len(lints) == len(re.findall(r"^Lints for ", output, re.MULTILINE)), output


def test_jobs_get_strict_shells_one_thread_each_and_the_shared_cache(tmp_path):
    """Every job's environment, probed by a rule added to a copy of the workflow: bash strict mode,
    the thread limits of its ``threads`` (here 2), XLA's CPU kernels on one thread, no display, the
    shared compilation cache of the config."""
    config = yaml.safe_load(SWEEP_CONFIG.read_text())
    make_workdir(tmp_path, {**config, "jax_cache_dir": "results/cache"})
    with open(tmp_path / "Snakefile", "a") as snakefile:
        snakefile.write('\n\nrule probe:\n    output:\n        "probe.txt",\n    threads: 2\n    shell:\n'
                        '        "(echo flags=$-; set -o | grep pipefail; env) > {output}"\n')
    result = snakemake(tmp_path, "--cores", "2", "probe.txt", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp_path / "probe.txt").read_text().splitlines()
    flags = lines[0].removeprefix("flags=")
    assert "e" in flags and "u" in flags and lines[1].split() == ["pipefail", "on"]
    env = dict(line.split("=", 1) for line in lines[2:] if "=" in line)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[name] == "2", name
    assert env["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false"
    assert env["MPLBACKEND"] == "Agg" and env["JAX_COMPILATION_CACHE_DIR"] == "results/cache"


@pytest.fixture(scope="module")
def sweep(tiny_sweep):
    """The tiny sweep, run once per session (tests/conftest.py): (workdir, config)."""
    return tiny_sweep


def run_dirs(workdir, config):
    return {(task, arch, seed): workdir / "results" / task / arch / f"seed{seed}"
            for task in config["tasks"] for arch in config["architectures"] for seed in config["seeds"]}


def test_sweep_data_and_models_follow_the_design(sweep):
    workdir, config = sweep
    for (task, arch, seed), folder in run_dirs(workdir, config).items():
        n_bits, n_hidden = config["tasks"][task]["n_bits"], config["tasks"][task]["n_hidden"]
        splits, attrs = load_data(folder / "data.h5")
        assert attrs == {"task": "flipflop", "n_bits": n_bits, "n_time": config["data"]["n_time"],
                         "p": config["data"]["p"], "seed": seed}
        generator = FlipFlopData(n_bits=n_bits, n_time=config["data"]["n_time"], p=config["data"]["p"],
                                 random_seed=seed)
        for split in ("train", "valid", "test"):
            expected = generator.generate_data(config["data"][f"n_{split}"])
            np.testing.assert_array_equal(splits[split]["inputs"], expected["inputs"])
        model = load_model(folder / "model.h5")
        assert (model.rnn_type, model.n_inputs, model.n_hidden, model.n_outputs) == (arch, n_bits, n_hidden, n_bits)
        history = load_history(folder / "model.h5")
        assert history.converged and not history.diverged
        assert history.final_train_loss < config["training"]["min_loss"] <= history.train_loss[-2]
        assert history.hyperparameters["learning_rate"] == config["training"]["learning_rate"]
        with h5py.File(folder / "model.h5") as f:
            assert (f.attrs["schema"], f.attrs["schema_version"], f.attrs["seed"]) == ("fixedpoints/model", 1, seed)


def test_sweep_fixed_points_follow_the_design(sweep):
    workdir, config = sweep
    for (task, _, _), folder in run_dirs(workdir, config).items():
        n_bits, d = config["tasks"][task]["n_bits"], config["tasks"][task]["n_hidden"]
        with h5py.File(folder / "fixed_points.h5") as f:
            assert (f.attrs["schema"], f.attrs["schema_version"]) == ("fixedpoints/fixed_points", 1)
            assert f.attrs["n_inits"] == config["fixed_points"]["n_inits"] and f.attrs["wall_s"] > 0
            n = f["unique/xstar"].shape[0]
            shapes = {"xstar": (n, d), "x_init": (n, d), "inputs": (n, n_bits), "F_xstar": (n, d), "qstar": (n,),
                      "dq": (n,), "n_iters": (n,), "J_xstar": (n, d, d), "dFdu": (n, d, n_bits),
                      "eigval_J_xstar": (n, d), "eigvec_J_xstar": (n, d, d), "is_stable": (n,),
                      "n_unstable": (n,)}
            for name, shape in shapes.items():
                assert f["unique"][name].shape == shape, name
            for name in ("xstar", "x_init", "inputs", "F_xstar", "qstar", "dq", "n_iters"):
                assert f["all"][name].shape[0] >= n
            assert f["states/hiddens"].shape == (config["data"]["n_test"], config["data"]["n_time"], d)
            modulus = np.abs(f["unique/eigval_J_xstar"][()])
            assert np.all(np.diff(modulus, axis=1) <= 0)                      # sorted by |λ|, descending
            np.testing.assert_array_equal(f["unique/is_stable"][()], modulus.max(axis=1) < 1)
            np.testing.assert_array_equal(f["unique/n_unstable"][()], (modulus > 1).sum(axis=1))
            # a trained N-bit flip-flop: 2^N stable fixed points, one per memory state
            assert f["unique/is_stable"][()].sum() == 2 ** n_bits


def test_sweep_figures_logs_and_benchmarks_exist(sweep):
    workdir, config = sweep
    for (task, arch, seed), folder in run_dirs(workdir, config).items():
        for name in ("pca_2d.png", "pca_3d.png"):
            assert (folder / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        logs = {rule: workdir / "results" / "logs" / rule / task / arch / f"seed{seed}.log" for rule in RUN_RULES}
        assert "epoch" in logs["train"].read_text()                          # the script's progress
        assert str(folder.relative_to(workdir) / "data.h5") in logs["generate_data"].read_text()
        for rule in RUN_RULES:
            assert not [line for line in logs[rule].read_text().splitlines() if line.startswith("error:")], rule
            bench = pd.read_csv(workdir / "results" / "benchmarks" / rule / task / arch / f"seed{seed}.tsv", sep="\t")
            assert bench["s"].iloc[0] > 0
    summary = workdir / "results" / "summary"
    for name in ("stable_counts.png", "saddle_index.png", "training_curves.png"):
        assert (summary / name).read_bytes().startswith(b"\x89PNG")
    assert (summary / "stable_counts.pdf").read_bytes().startswith(b"%PDF")
    assert any((workdir / "results" / ".jax_cache").iterdir())          # the shared compilation cache
    assert not list((workdir / "results").rglob("*.tmp"))                # no leftovers of atomic writes


def test_runs_csv_matches_the_run_files(sweep):
    workdir, config = sweep
    runs = read_runs_csv(workdir / "results" / "summary" / "runs.csv")
    d_max = max(task["n_hidden"] for task in config["tasks"].values())
    assert list(runs.columns) == RUNS_COLUMNS + [f"n_index_{k}" for k in range(d_max + 1)] + [
        *CERTIFICATE_COLUMNS, *MEMORY_COLUMNS, *GRAPH_COLUMNS, *FOLD_COLUMNS, "expected_stable", "expected_total",
        "wall_s_data", "wall_s_train", "wall_s_fixed_points", "wall_s_topology", "wall_s_continuation"]
    folders = run_dirs(workdir, config)
    assert len(runs) == len(folders)
    for row in runs.itertuples():
        folder = folders[(row.task, row.arch, row.seed)]
        n_bits = config["tasks"][row.task]["n_bits"]
        history = load_history(folder / "model.h5")
        unique = load_fixed_points(folder / "fixed_points.h5", groups=("unique",))["unique"]
        assert (row.n_bits, row.n_hidden, row.epochs) == (n_bits, config["tasks"][row.task]["n_hidden"],
                                                          history.epochs)
        assert row.final_train_loss == history.train_loss[-1] and row.final_valid_loss == history.valid_loss[-1]
        assert (row.converged, row.diverged) == (history.converged, history.diverged)
        assert row.n_fixed_points == unique.n and row.n_stable == unique.is_stable.sum()
        for k in range(d_max + 1):
            assert getattr(row, f"n_index_{k}") == np.sum(unique.n_unstable == k)
        assert (row.expected_stable, row.expected_total) == (2 ** n_bits, 3 ** n_bits)
        with h5py.File(folder / "fixed_points.h5") as f:
            assert row.n_slow == f["slow"]["xstar"].shape[0]
            memories = load_memories(f["memories"])
        assert [getattr(row, c) for c in MEMORY_COLUMNS] == [getattr(memories, c) for c in MEMORY_COLUMNS]
        assert {c: getattr(row, c) for c in GRAPH_COLUMNS} == run_columns(folder / "graph.h5")
        folds = continuation_columns(folder / "continuation.h5")
        assert [getattr(row, c) for c in FOLD_COLUMNS] == [folds[c] for c in FOLD_COLUMNS]
        assert row.flips_cleanly and 0 < row.fold_amplitude_min <= row.fold_amplitude_max < 1
        # proved complete: the interval certificate holds exactly the finder's points
        assert (row.certified, row.n_certified, row.finder_agrees) == (True, unique.n, True)
        # the tiny sweep's 2-bit tanh nets hold their 4 memories at 4 attractors joined as a square
        assert (row.n_stable, row.n_memories, row.n_memories_at_stable_points, row.is_hypercube) == (4, 4, 4, True)
        for column, rule in (("wall_s_data", "generate_data"), ("wall_s_train", "train"),
                             ("wall_s_fixed_points", "find_fixed_points"), ("wall_s_topology", "topology"),
                             ("wall_s_continuation", "continuation")):
            bench = workdir / "results" / "benchmarks" / rule / row.task / row.arch / f"seed{row.seed}.tsv"
            assert math.isclose(getattr(row, column), pd.read_csv(bench, sep="\t")["s"].iloc[0])


def test_jobs_of_several_runs_write_the_per_run_sweeps_files_bit_for_bit(sweep, tmp_path):
    """The tiny sweep again with runs_per_job 2 (both seeds in one job per stage), killed while its training
    job is on the second run, then resumed: every HDF5 file, figure and table equals the per-run sweep's
    (wall times aside); each run keeps its own log and benchmark file; then nothing is left to do, and a
    changed training setting reruns the jobs from training on."""
    workdir, config = sweep
    batched = make_workdir(tmp_path / "batched", {**config, "runs_per_job": 2})
    first_model, second_log = (batched / "results" / "2bit" / "tanh" / "seed0" / "model.h5",
                               batched / "results" / "logs" / "train" / "2bit" / "tanh" / "seed1.log")
    killed = start_snakemake(batched)
    assert wait_for(lambda: second_log.is_file() and "epoch" in second_log.read_text(), 300, killed), \
        (batched / "snakemake_outer.log").read_text()[-3000:]
    kill_group(killed)
    # the job's first run had finished its model: the resumed sweep trains it again (the job was incomplete)
    assert first_model.is_file() and not list((batched / "results").rglob("*.tmp"))
    killed_model = first_model.stat().st_mtime_ns
    assert snakemake(batched, "--unlock").returncode == 0
    result = snakemake(batched, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    assert first_model.stat().st_mtime_ns != killed_model
    assert job_counts(result.stderr) == {**{f"{rule}_batch0": 1 for rule in RUN_RULES[1:]}, "aggregate": 1, "all": 1}
    assert_same_outputs(workdir, batched)
    new = batched / "results"
    runs = read_runs_csv(new / "summary" / "runs.csv")
    assert runs[[column for column in runs.columns if column.startswith("wall_s_")]].gt(0).all().all()
    for task, arch, seed in run_dirs(batched, config):
        part = Path(task, arch, f"seed{seed}")
        for rule in RUN_RULES:
            assert pd.read_csv(new / "benchmarks" / rule / f"{part}.tsv", sep="\t")["s"].iloc[0] > 0
        assert "epoch" in (new / "logs" / "train" / f"{part}.log").read_text()
        assert "fixed points" in (new / "logs" / "find_fixed_points" / f"{part}.log").read_text()
    assert planned_jobs(batched) == []
    report = snakemake(batched, "--report", "results/report.html")          # captions and labels need no wildcards
    assert report.returncode == 0, report.stderr[-3000:]
    figures = report_variable((batched / "results" / "report.html").read_text(), "results")
    for task, arch, seed in run_dirs(batched, config):
        for name in ("fixed_points", "readout", "pca_2d", "pca_3d", "graph", "bifurcation"):
            entry = figures[f"results/{task}/{arch}/seed{seed}/{name}.png"]
            assert entry["labels"]["seed"] == str(seed)
            assert f"{arch} network of task <strong>{task}</strong>" in " ".join(entry["caption"].split())
    changed = {**config, "runs_per_job": 2, "training": {**config["training"], "max_epochs": 999}}
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed))
    assert planned_jobs(batched, "--configfile", str(tmp_path / "changed.yaml")) == sorted(
        [(f"{rule}_batch0", None) for rule in RUN_RULES[1:]] + [("aggregate", None), ("all", None)], key=str)


def test_a_complete_sweep_has_nothing_to_do(sweep):
    workdir, _ = sweep
    assert planned_jobs(workdir) == []


def test_changing_the_cache_folder_reruns_nothing(sweep):
    workdir, _ = sweep
    assert planned_jobs(workdir, "--config", "jax_cache_dir=results/.other_cache") == []


def test_a_new_seed_runs_only_that_run_and_the_aggregate(sweep, tmp_path):
    workdir, config = sweep
    new = max(config["seeds"]) + 1
    (tmp_path / "seeds.yaml").write_text(yaml.safe_dump({"seeds": config["seeds"] + [new]}))
    assert planned_jobs(workdir, "--configfile", str(tmp_path / "seeds.yaml")) == sorted(
        [(rule, new) for rule in RUN_RULES] + [("aggregate", None), ("all", None)], key=str)


@pytest.mark.parametrize("section, key, reruns", [
    ("training", "max_epochs", ("train", "find_fixed_points", "topology", "continuation", "plot_run")),
    ("fixed_points", "noise_scale", ("find_fixed_points", "topology", "continuation", "plot_run")),
    ("data", "p", RUN_RULES),
])
def test_a_changed_setting_reruns_exactly_what_depends_on_it(sweep, tmp_path, section, key, reruns):
    workdir, config = sweep
    changed = {**config, section: {**config[section], key: config[section].get(key, 0.4) * 1.5}}
    config_file = tmp_path / "changed.yaml"
    config_file.write_text(yaml.safe_dump(changed))
    seeds = config["seeds"]
    # --configfile is merged over config.yaml: the tiny sweep's own file plus the one changed key
    assert planned_jobs(workdir, "--configfile", str(config_file)) == sorted(
        [(rule, seed) for rule in reruns for seed in seeds] + [("aggregate", None), ("all", None)], key=str)


def test_other_run_figure_formats_redraw_only_the_figures(sweep):
    workdir, config = sweep
    assert planned_jobs(workdir, "--config", "run_figure_formats=[png,svg]") == sorted(
        [("plot_run", seed) for seed in config["seeds"]] + [("all", None)], key=str)


def test_fewer_run_figures_redraw_those_alike_and_leave_the_others(sweep, tmp_path):
    """A copy of the tiny sweep asked for two of the six figures: only plot_run runs (its job changed), it
    draws those two figures again, byte for byte as before, in every format, and leaves the others as they
    were; then nothing is left to do."""
    workdir, config = sweep
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    figures = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in (copy / "results").rglob("*")
               if path.suffix in (".png", ".pdf") and "summary" not in path.parts}
    assert len(figures) == len(config["seeds"]) * 6 * 2
    result = snakemake(copy, "--cores", "2", "--config", "run_figures=[graph,pca_2d]")
    assert result.returncode == 0, result.stderr[-5000:]
    assert job_counts(result.stderr) == {"plot_run": len(config["seeds"]), "all": 1}
    for path, (mtime, content) in figures.items():
        assert path.read_bytes() == content, path
        assert (path.stat().st_mtime_ns != mtime) == (path.stem in ("graph", "pca_2d")), path
    assert planned_jobs(copy, "--config", "run_figures=[graph,pca_2d]") == []


def test_a_deleted_model_reruns_exactly_its_run(sweep):
    """Runs last in this module: it changes the sweep's files."""
    workdir, config = sweep
    folders = run_dirs(workdir, config)
    key = sorted(folders)[-1]
    (folders[key] / "model.h5").unlink()
    assert planned_jobs(workdir) == sorted([(rule, key[2]) for rule in ("train", "find_fixed_points", "topology",
                                                                        "continuation", "plot_run")]
                                           + [("aggregate", None), ("all", None)], key=str)
    before = {path: path.stat().st_mtime_ns for path in (workdir / "results").rglob("*.h5")}
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    changed = {path for path, mtime in before.items() if path.stat().st_mtime_ns != mtime}
    # model.h5 is new; data.h5 and the other runs are kept
    assert changed == {folders[key] / name for name in ("fixed_points.h5", "graph.h5", "continuation.h5")}
    assert (folders[key] / "model.h5").is_file()
