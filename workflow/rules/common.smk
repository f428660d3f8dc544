"""The config (read, checked), the jobs' environment, the list of runs, wildcard constraints and the
helpers every rule uses.

This is the only file that reads ``config``. A config.yaml that does not parse, or an invalid config,
is refused here, before any job starts and before anything is written under results/, with one line
naming the file or the key.
"""

import difflib
import json
import os
import shlex
import sys
from typing import NamedTuple

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

CONFIG_FILE = "config.yaml"
CONFIG_SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"
TASK_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
RUN_DIR = "results/{task}/{arch}/seed{seed}"
SECTIONS = ("data", "training", "fixed_points", "memory", "topology", "continuation")


def refuse(message):
    """Stop the workflow with the single line ``error: <message>``."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(1)


def readable_config_file(path):
    """``path``, once it is known to hold a YAML mapping; else one line naming the file (and the line).

    Snakemake's own message for a file that does not parse names neither the file nor the line. A
    missing file is allowed when ``--configfile`` gives the settings instead.
    """
    if not os.path.exists(path):
        if not workflow.overwrite_configfiles:
            refuse(f"{path}: file not found (the sweep's settings; run snakemake in the folder of the Snakefile)")
        return path
    try:
        with open(path, encoding="utf-8") as handle:
            settings = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        refuse(f"{path}: not valid YAML: {where}{getattr(error, 'problem', None) or error}")
    if not isinstance(settings, dict):
        refuse(f"{path}: expected a mapping of settings (key: value lines), got {type(settings).__name__}")
    return path


def refuse_config(key, message):
    """Stop the workflow with the single line ``error: config: <key>: <message>``."""
    refuse(f"config: {key}: {message}")


def unknown_keys_message(error):
    """'unknown key 'lr' (valid keys: ...)' for a jsonschema ``additionalProperties`` error."""
    valid = list(error.schema.get("properties", {}))
    unknown = [key for key in error.instance if key not in valid]
    close = [match for key in unknown for match in difflib.get_close_matches(str(key), valid, n=1)]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown key {', '.join(map(repr, unknown))} (valid keys: {', '.join(valid)}){hint}"


def refuse_schema_error(error, prefix=""):
    """Refuse the config for a jsonschema ``ValidationError``, naming its key and what was expected."""
    key = ".".join([prefix] * bool(prefix) + [str(part) for part in error.absolute_path]) or "<top level>"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        refuse_config(key, unknown_keys_message(error))
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    refuse_config(key, error.message + (f" (expected: {described})" if described else ""))


def validate_config():
    """Check ``config`` against the schema (filling in defaults), then what the schema cannot say:
    each task's overrides against its section's schema, and batch_size ≤ n_train."""
    try:
        validate(config, schema=CONFIG_SCHEMA)
    except WorkflowError as error:
        # snakemake wraps the ValidationError into a WorkflowError message; the original is the context.
        cause = error.__context__ if isinstance(error.__context__, jsonschema.ValidationError) else None
        if cause is None:
            raise
        refuse_schema_error(cause)
    with open(CONFIG_SCHEMA) as handle:
        sections = yaml.safe_load(handle)["properties"]
    for task, settings in config["tasks"].items():
        for section in SECTIONS:
            validator = jsonschema.Draft202012Validator(sections[section])
            for error in validator.iter_errors(settings[section]):
                refuse_schema_error(error, prefix=f"tasks.{task}.{section}")
        n_train = task_settings(task, "data")["n_train"]
        batch_size = task_settings(task, "training")["batch_size"]
        if batch_size > n_train:
            refuse_config(
                f"tasks.{task}: training.batch_size",
                f"{batch_size} is larger than the training set (data.n_train = {n_train})",
            )


def job_environment(jax_cache_dir):
    """Environment variables of every job.

    Set in this process at parse time, the jobs inherit them: locally, and on each Slurm node (where
    Snakemake parses the workflow again), whatever a rule runs (shell, script). Snakemake itself sets
    OMP_, OPENBLAS_, MKL_NUM_THREADS (and the like) to the job's ``threads`` and runs shell commands
    under ``set -euo pipefail``. ``--xla_cpu_multi_thread_eigen=false`` keeps XLA's CPU kernels on
    one thread, so ``--cores 8`` runs 8 one-thread jobs without oversubscribing. The persistent
    compilation cache is shared by all jobs; the programs are small and compile fast, so every one
    is cached, whatever its size or compile time.
    """
    env = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false", "MPLBACKEND": "Agg"}
    if jax_cache_dir:
        env.update(
            JAX_COMPILATION_CACHE_DIR=jax_cache_dir,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1",
        )
    return env


def task_settings(task, section):
    """The ``section`` settings of ``task``: the sweep's values, updated by the task's own overrides."""
    return {**config[section], **config["tasks"][task].get(section, {})}


def cli_option(key, value):
    """One script option: ``n_time=64`` → ``--n-time 64``; booleans as ``--key`` / ``--no-key``."""
    name = key.replace("_", "-")
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no-{name}"
    return f"--{name} {shlex.quote(str(value))}"


def cli_options(settings):
    """Settings as script options, sorted by key; a ``None`` value leaves the script's default."""
    return " ".join(cli_option(key, value) for key, value in sorted(settings.items()) if value is not None)


def attempt_scaled(base):
    """A resource of ``base`` that grows with the attempt (``2·base`` on the second, …).

    Locally nothing retries (the default profile has no ``retries``), so a job asks for ``base``,
    which only schedules it; the Slurm profile retries a failed job, asking for more each time.
    """

    def scaled(wildcards, attempt):
        return base * attempt

    return scaled


# The per-run rules, in the order a run goes through them: rule -> (mem_mb, runtime in minutes) of one
# run. Each rule runs the script of its name, workflow/scripts/<rule>.py.
RUN_RULES = {
    "generate_data": (1000, 5),
    "train": (2000, 30),
    "find_fixed_points": (2000, 30),
    "topology": (2000, 30),
    "continuation": (2000, 30),
    "plot_run": (1000, 10),
}


def run_resources(rule_name, n_runs=1):
    """``mem_mb`` and ``runtime`` of a job of ``n_runs`` runs of ``rule_name`` (run one after the other)."""
    mem_mb, minutes = RUN_RULES[rule_name]
    return {"mem_mb": attempt_scaled(mem_mb), "runtime": attempt_scaled(minutes * n_runs)}


def run_batches():
    """The jobs of several runs that ``runs_per_job`` asks for: (task, arch, seeds), consecutive seeds of
    ``seeds``, ``runs_per_job`` at a time. A last group of one seed is left to the per-run rules."""
    size, seeds = config["runs_per_job"], config["seeds"]
    groups = [seeds[start : start + size] for start in range(0, len(seeds), size)]
    return [
        (task, arch, group)
        for task in config["tasks"]
        for arch in config["architectures"]
        for group in groups
        if len(group) > 1
    ]


class RunFiles(dict):
    """Named values of one run, by key or attribute (``input.data``), as a rule's functions get them."""

    __getattr__ = dict.__getitem__


def run_files_of(rule_name, wildcards):
    """The named input and output files of per-run rule ``rule_name`` for the run of ``wildcards`` (task,
    arch, seed); a run's figures as plot_run declares them (in the report)."""
    proxy, run = getattr(rules, rule_name), dict(wildcards.items())

    def for_run(patterns):
        return RunFiles({name: str(pattern).format(**run) for name, pattern in patterns.items()})

    outputs = RunFiles(run_figure_outputs(**run)) if rule_name == "plot_run" else for_run(proxy.output)
    return for_run(proxy.input), outputs


# The arguments of each per-run rule's script for one run. They are functions of the wildcards alone (the
# files from run_files_of), so Snakemake's params trigger sees them: a changed setting reruns the job.


def generate_data_args(wildcards):
    """generate_data.py's arguments for one run."""
    _, output = run_files_of("generate_data", wildcards)
    n_bits = config["tasks"][wildcards.task]["n_bits"]
    options = cli_options(task_settings(wildcards.task, "data"))
    return f"--n-bits {n_bits} --seed {wildcards.seed} --out {output.data} {options}"


def train_args(wildcards):
    """train.py's arguments for one run."""
    input, output = run_files_of("train", wildcards)
    n_hidden = config["tasks"][wildcards.task]["n_hidden"]
    options = cli_options(task_settings(wildcards.task, "training"))
    return (
        f"--data {input.data} --rnn-type {wildcards.arch} --n-hidden {n_hidden} --seed {wildcards.seed} "
        f"--out {output.model} {options}"
    )


def find_fixed_points_args(wildcards):
    """find_fixed_points.py's arguments for one run."""
    input, output = run_files_of("find_fixed_points", wildcards)
    options = cli_options(task_settings(wildcards.task, "fixed_points"))
    memory = cli_options(task_settings(wildcards.task, "memory"))
    return (
        f"--model {input.model} --data {input.data} --seed {wildcards.seed} --out {output.fixed_points} "
        f"{options} {memory}"
    )


def topology_args(wildcards):
    """topology.py's arguments for one run."""
    input, output = run_files_of("topology", wildcards)
    options = cli_options(task_settings(wildcards.task, "topology"))
    return f"--model {input.model} --fixed-points {input.fixed_points} --out {output.graph} {options}"


def continuation_args(wildcards):
    """continuation.py's arguments for one run."""
    input, output = run_files_of("continuation", wildcards)
    options = cli_options(task_settings(wildcards.task, "continuation"))
    return f"--model {input.model} --fixed-points {input.fixed_points} --out {output.continuation} {options}"


def plot_run_args(wildcards):
    """plot_run.py's arguments for one run: its inputs (graph.h5 and continuation.h5 only for the figures
    drawn from them) and the files of the figures of ``run_figures``."""
    input, output = run_files_of("plot_run", wildcards)
    sources = " ".join(f"--{name.replace('_', '-')} {path}" for name, path in input.items())
    return f"{sources} {run_figure_options(output)}"


RUN_ARGS = {
    "generate_data": generate_data_args,
    "train": train_args,
    "find_fixed_points": find_fixed_points_args,
    "topology": topology_args,
    "continuation": continuation_args,
    "plot_run": plot_run_args,
}


class RunJob(NamedTuple):
    """What the per-run rule's job of one run would have: files, log, benchmark file, script arguments."""

    input: RunFiles
    output: RunFiles
    log: str
    benchmark: str
    args: str


def batch_jobs(rule_name, task, arch, seeds):
    """The `RunJob` of ``rule_name`` for each run (task, arch, seed) of ``seeds``."""
    proxy = getattr(rules, rule_name)
    jobs = []
    for seed in seeds:
        run = RunFiles(task=task, arch=arch, seed=str(seed))
        log, benchmark = (str(path).format(**run) for path in (proxy.log[0], proxy.benchmark))
        jobs.append(RunJob(*run_files_of(rule_name, run), log, benchmark, RUN_ARGS[rule_name](run)))
    return jobs


def run_dirs():
    """One folder per run, in the order task, architecture, seed."""
    return [
        RUN_DIR.format(task=task, arch=arch, seed=seed)
        for task in config["tasks"]
        for arch in config["architectures"]
        for seed in config["seeds"]
    ]


def run_files(name):
    """The file ``name`` (e.g. ``model.h5``) of every run."""
    return [f"{run}/{name}" for run in run_dirs()]


def benchmark_files(rule_name):
    """The benchmark file of ``rule_name`` for every run (the aggregate reads their wall times)."""
    return [run.replace("results/", f"results/benchmarks/{rule_name}/", 1) + ".tsv" for run in run_dirs()]


# The figures of a run (plot_run.py): name -> (report caption, report label, plot_run option); each
# as .png (in the report) and in the other formats of ``run_figure_formats``. "fixed_points" is the
# run's main figure (the view chosen for its task), "graph" its saddle-attractor graph, "bifurcation"
# its fixed points followed along the input pulses.
RUN_FIGURES = {
    "fixed_points": ("fixed_points.rst", "main", "--out-main"),
    "readout": ("readout.rst", "readout", "--out-readout"),
    "pca_2d": ("pca_2d.rst", "PCA 2D", "--out-2d"),
    "pca_3d": ("pca_3d.rst", "PCA 3D", "--out-3d"),
    "graph": ("graph.rst", "graph", "--out-graph"),
    "bifurcation": ("bifurcation.rst", "bifurcation", "--out-bifurcation"),
}


def run_figure_names():
    """The figures each run draws: those of the config's ``run_figures``, in the order of RUN_FIGURES."""
    return [name for name in RUN_FIGURES if name in config["run_figures"]]


def plot_run_inputs():
    """plot_run's inputs: the model and its fixed points; graph.h5 only for the graph figure, continuation.h5
    only for the bifurcation diagram (so a sweep asking for neither figure draws without waiting for them)."""
    inputs = {"model": f"{RUN_DIR}/model.h5", "fixed_points": f"{RUN_DIR}/fixed_points.h5"}
    for figure, source in (("graph", "graph"), ("bifurcation", "continuation")):
        if figure in run_figure_names():
            inputs[source] = f"{RUN_DIR}/{source}.h5"
    return inputs


def run_stages():
    """The per-run rules the sweep runs: all of RUN_RULES, but plot_run only when ``run_figures`` names a figure."""
    return [name for name in RUN_RULES if name != "plot_run" or run_figure_names()]


def run_figure_suffixes():
    """The formats of a run's figures: png (the report's), then the config's others."""
    return ["png"] + [suffix for suffix in config["run_figure_formats"] if suffix != "png"]


def run_figure_key(name, suffix):
    """The plot_run output key of figure ``name`` in format ``suffix``: the PNG's is the name itself."""
    return name if suffix == "png" else f"{name}_{suffix}"


def run_figure_outputs(task="{task}", arch="{arch}", seed="{seed}"):
    """The outputs of plot_run: every figure of ``run_figures`` as PNG (in the report, captioned) and in the
    config's other ``run_figure_formats``; for the rule's wildcards, or for one run (a job of several runs)."""
    outputs = {}
    for name in run_figure_names():
        caption, label, _ = RUN_FIGURES[name]
        path = f"{RUN_DIR.format(task=task, arch=arch, seed=seed)}/{name}"
        labels = {"seed": seed, "figure": label}
        outputs[name] = report(
            f"{path}.png", caption=f"../report/{caption}", category=task, subcategory=arch, labels=labels
        )
        for suffix in run_figure_suffixes()[1:]:
            outputs[run_figure_key(name, suffix)] = f"{path}.{suffix}"
    return outputs


def run_figure_options(output):
    """plot_run's ``--out-*`` options: each drawn figure's files, PNG first."""
    return " ".join(
        f"{RUN_FIGURES[name][2]} "
        + " ".join(shlex.quote(output[run_figure_key(name, suffix)]) for suffix in run_figure_suffixes())
        for name in run_figure_names()
    )


# name -> (file, report caption, report label)
SUMMARY_TABLES = {
    "runs_csv": ("runs.csv", "runs.rst", "table of runs"),
    "provenance": ("provenance.csv", "provenance.rst", "software provenance"),
}
SUMMARY_FIGURES = {
    "stable_counts": ("stable_counts.rst", "stable counts"),
    "saddle_index": ("saddle_index.rst", "saddle index histogram"),
    "training_curves": ("training_curves.rst", "training curves"),
    "topology_classes": ("topology_classes.rst", "topology classes"),
}


def summary_outputs():
    """The outputs of aggregate: the tables, and for every figure its PNG (in the report) and PDF."""

    def reported(path, caption, label):
        return report(
            f"results/summary/{path}",
            caption=f"../report/{caption}",
            category="summary",
            subcategory="all runs",
            labels={"figure": label},
        )

    outputs = {key: reported(*entry) for key, entry in SUMMARY_TABLES.items()}
    for name, (caption, label) in SUMMARY_FIGURES.items():
        outputs[f"{name}_png"] = reported(f"{name}.png", caption, label)
        outputs[f"{name}_pdf"] = f"results/summary/{name}.pdf"
    return outputs


def all_targets():
    """The targets of the whole sweep: the summary table and figures, and every file of every run.

    Asking for each run's HDF5 files too (not only the figures made from them) means a deleted
    ``model.h5`` is trained again, with what depends on it, instead of being left missing.
    """
    names = ("data.h5", "model.h5", "fixed_points.h5", "graph.h5", "continuation.h5")
    names += tuple(f"{figure}.{suffix}" for figure in run_figure_names() for suffix in run_figure_suffixes())
    return list(rules.aggregate.output) + [path for name in names for path in run_files(name)]


configfile: readable_config_file(CONFIG_FILE)


validate_config()
os.environ.update(job_environment(config["jax_cache_dir"]))


wildcard_constraints:
    task=TASK_NAME,
    arch="tanh|gru|lstm",
    seed=r"\d+",
