"""Config validation, the list of runs, wildcard constraints and the helpers every rule uses.

This is the only file that reads ``config``. An invalid config is refused here, before any job
starts and before anything is written under results/, with one line naming the key.
"""

import shlex
import sys

import yaml

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

TASK_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
RUN_DIR = "results/{task}/{arch}/seed{seed}"
SECTIONS = ("data", "training", "fixed_points")
CONFIG_SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"


def refuse_config(key, message):
    """Stop the workflow with the single line ``error: config: <key>: <message>``."""
    print(f"error: config: {key}: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(1)


def refuse_schema_error(error, prefix=""):
    """Refuse the config for a jsonschema ``ValidationError``, naming its key and what was expected."""
    key = ".".join([prefix] * bool(prefix) + [str(part) for part in error.absolute_path]) or "<top level>"
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
            refuse_config(f"tasks.{task}: training.batch_size",
                          f"{batch_size} is larger than the training set (data.n_train = {n_train})")


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


def section_options(section):
    """A params function giving the options of ``section`` for the job's task."""

    def options(wildcards):
        return cli_options(task_settings(wildcards.task, section))

    return options


def attempt_scaled(base):
    """A resource that grows with the attempt: ``base`` on the first try, ``2·base`` on the second, …"""

    def scaled(wildcards, attempt):
        return base * attempt

    return scaled


def job_attempt(wildcards, attempt):
    """The job's attempt number (1, 2, …) as a resource, so that its shell command can log it."""
    return attempt


def job_shell_prefix():
    """Shell prefix of every job: strict mode, thread limits, the shared compilation cache, and
    ``log_job_start`` (which rules call first, writing the job's attempt, threads and resources to its
    log) and ``within_budget`` (which runs the job's command within those mem_mb and runtime: past
    either, the job is killed, says so in its log, and Snakemake retries it with attempt-scaled
    resources, locally as under a scheduler).

    Snakemake itself exports OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = the job's
    ``threads``; XLA's CPU thread pool is tied to the same number here.
    """
    env = ('XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=$OMP_NUM_THREADS" '
           'OPENBLAS_NUM_THREADS=$OMP_NUM_THREADS MKL_NUM_THREADS=$OMP_NUM_THREADS MPLBACKEND=Agg')
    cache = config["jax_cache_dir"]
    if cache:
        # The programs are tiny and compile fast: cache them all, whatever their size or compile time.
        env += (f" JAX_COMPILATION_CACHE_DIR={shlex.quote(cache)} JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0"
                " JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1")
    start = ('log_job_start() { echo "job started $(date -u +%FT%TZ) on $(hostname): $*, threads=$OMP_NUM_THREADS, '
             'XLA_FLAGS=$XLA_FLAGS"; local kv; for kv in "$@"; do case $kv in attempt=*) JOB_ATTEMPT=${kv#*=};; '
             'mem_mb=*) JOB_MEM_MB=${kv#*=};; runtime=*) JOB_RUNTIME=${kv#*=};; esac; done; }')
    # Enforce the budget that log_job_start recorded, as a scheduler would (see within_budget.py).
    budget = ('within_budget() { python workflow/scripts/within_budget.py --runtime-min "$JOB_RUNTIME" '
              '--mem-mb "$JOB_MEM_MB" --attempt "${JOB_ATTEMPT:-1}" -- "$@"; }')
    prefix = f"set -euo pipefail; export {env}; {start}; {budget}; "
    return prefix.replace("{", "{{").replace("}", "}}")


def run_dirs():
    """One folder per run, in the order task, architecture, seed."""
    return [RUN_DIR.format(task=task, arch=arch, seed=seed)
            for task in config["tasks"] for arch in config["architectures"] for seed in config["seeds"]]


def run_files(name):
    """The file ``name`` (e.g. ``model.h5``) of every run."""
    return [f"{run}/{name}" for run in run_dirs()]


def benchmark_files(rule_name):
    """The benchmark file of ``rule_name`` for every run (the aggregate reads their wall times)."""
    return [run.replace("results/", f"results/benchmarks/{rule_name}/", 1) + ".tsv" for run in run_dirs()]


SUMMARY = {"runs": "results/summary/runs.csv", "stable_counts_png": "results/summary/stable_counts.png",
           "stable_counts_pdf": "results/summary/stable_counts.pdf",
           "saddle_index": "results/summary/saddle_index.png",
           "training_curves": "results/summary/training_curves.png"}


def all_targets():
    """The targets of the whole sweep: the summary table and figures, and every file of every run.

    Asking for each run's HDF5 files too (not only the figures made from them) means a deleted
    ``model.h5`` is trained again, with what depends on it, instead of being left missing.
    """
    names = ("data.h5", "model.h5", "fixed_points.h5", "continuation.h5", "pca_2d.png", "pca_3d.png")
    return list(SUMMARY.values()) + [path for name in names for path in run_files(name)]


validate_config()
shell.prefix(job_shell_prefix())
PYTHON_ENV = "../envs/fixedpoints.yaml"


wildcard_constraints:
    task=TASK_NAME,
    arch="tanh|gru|lstm",
    seed=r"\d+",
