"""Invalid sweep configs are refused before any job starts: one line naming the key and what was expected
(an unknown key: the valid keys of its section), or, for a config.yaml that cannot be read, the file.

Each case starts from the tiny sweep config, breaks one thing, and runs the real ``snakemake`` (not a
dry run) in a throw-away copy of the workflow: the run must exit non-zero, print exactly one
``error: config: <key>: ...`` (or ``error: config.yaml: ...``) line, no traceback, and write nothing
under results/.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from reliability_support import REPO, fast_config, make_workdir, run_snakemake, run_snakemake_many

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())["properties"]


def valid_keys(*path: str) -> str:
    """The message's list of the valid keys of a section, in the schema's order: 'a, b, c'."""
    node = {"properties": SCHEMA}
    for part in path:
        node = node["properties"][part] if part != "*" else node["additionalProperties"]
    return f"(valid keys: {', '.join(node['properties'])})"


def set_path(config: dict, dotted: str, value) -> dict:
    """A copy of ``config`` with ``a.b.c`` set to ``value`` (``DELETE`` removes the key)."""
    config = copy.deepcopy(config)
    *parents, last = dotted.split("/")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return config


def rename_task(config: dict, name) -> dict:
    config = copy.deepcopy(config)
    config["tasks"] = {name: config["tasks"].pop("2bit")}
    return config


# (id, config change, texts the error line must contain: the key, and the expected value or the offender)
CASES = [
    ("unknown top-level key", lambda c: set_path(c, "trainig", {"learning_rate": 0.1}),
     ["<top level>: unknown key 'trainig'", valid_keys(), "did you mean 'training'?"]),
    ("unknown section key", lambda c: set_path(c, "training/lr", 0.1),
     ["training: unknown key 'lr'", valid_keys("training")]),
    ("unknown task key", lambda c: set_path(c, "tasks/2bit/n_hiden", 3),
     ["tasks.2bit: unknown key 'n_hiden'", valid_keys("tasks", "*"), "did you mean 'n_hidden'?"]),
    ("unknown key in a task override", lambda c: set_path(c, "tasks/2bit/training/learning_rat", 0.1),
     ["tasks.2bit.training: unknown key 'learning_rat'", valid_keys("training"), "did you mean 'learning_rate'?"]),
    ("string for an integer", lambda c: set_path(c, "training/batch_size", "128"),
     ["training.batch_size", "integer"]),
    ("float for an integer", lambda c: set_path(c, "data/n_time", 64.5), ["data.n_time", "integer"]),
    ("scalar for the seed list", lambda c: set_path(c, "seeds", 3), ["seeds", "array"]),
    ("string for a number", lambda c: set_path(c, "fixed_points/noise_scale", "big"),
     ["fixed_points.noise_scale", "number"]),
    ("n_bits zero", lambda c: set_path(c, "tasks/2bit/n_bits", 0), ["tasks.2bit.n_bits", "minimum of 1"]),
    ("n_hidden negative", lambda c: set_path(c, "tasks/2bit/n_hidden", -2), ["tasks.2bit.n_hidden", "minimum of 1"]),
    ("n_bits missing", lambda c: set_path(c, "tasks/2bit", {"n_hidden": 3}), ["tasks.2bit", "'n_bits'"]),
    ("unknown architecture", lambda c: set_path(c, "architectures", ["tanh", "elman"]),
     ["architectures", "elman", "tanh", "gru", "lstm"]),
    ("empty seeds", lambda c: set_path(c, "seeds", []), ["seeds", "empty"]),
    ("duplicate seeds", lambda c: set_path(c, "seeds", [0, 1, 0]), ["seeds", "non-unique"]),
    ("negative seed", lambda c: set_path(c, "seeds", [-1]), ["seeds", "minimum of 0"]),
    ("zero learning rate", lambda c: set_path(c, "training/learning_rate", 0), ["training.learning_rate", "0"]),
    ("negative learning rate in a task", lambda c: set_path(c, "tasks/2bit/training", {"learning_rate": -0.1}),
     ["tasks.2bit.training.learning_rate", "-0.1"]),
    ("zero batch size", lambda c: set_path(c, "training/batch_size", 0), ["training.batch_size", "minimum of 1"]),
    ("negative loss target", lambda c: set_path(c, "training/min_loss", -1e-4), ["training.min_loss", "-0.0001"]),
    ("negative tol_q", lambda c: set_path(c, "fixed_points/tol_q", -1.0), ["fixed_points.tol_q", "-1"]),
    ("unknown certify mode", lambda c: set_path(c, "fixed_points/certify", "maybe"), ["fixed_points.certify", "maybe"]),
    ("zero memory steps", lambda c: set_path(c, "memory/memory_steps", 0), ["memory.memory_steps", "0"]),
    ("continuation amplitude", lambda c: set_path(c, "continuation/amplitude", 0), ["continuation.amplitude", "0"]),
    ("negative final_q_threshold", lambda c: set_path(c, "fixed_points/final_q_threshold", -1e-6),
     ["fixed_points.final_q_threshold", "-1e-06"]),
    ("zero tol_unique", lambda c: set_path(c, "fixed_points/tol_unique", 0), ["fixed_points.tol_unique", "0"]),
    ("batch larger than the training set", lambda c: set_path(c, "training/batch_size", 1024),
     ["batch_size", "1024", "n_train", "512"]),
    ("task's batch larger than its training set", lambda c: set_path(c, "tasks/2bit/data", {"n_train": 64}),
     ["tasks.2bit", "batch_size", "128", "n_train", "64"]),
    ("zero runs per job", lambda c: set_path(c, "runs_per_job", 0), ["runs_per_job", "minimum of 1"]),
    ("runs per job not an integer", lambda c: set_path(c, "runs_per_job", 2.5), ["runs_per_job", "integer"]),
    ("unknown method", lambda c: set_path(c, "fixed_points/method", "newton"),
     ["fixed_points.method", "newton", "joint", "sequential"]),
    ("task name with a slash", lambda c: rename_task(c, "a/b"), ["tasks", "'a/b'"]),
    ("task name going up", lambda c: rename_task(c, ".."), ["tasks", "'..'"]),
    ("empty task name", lambda c: rename_task(c, ""), ["tasks", "''"]),
    ("task name of a results folder", lambda c: rename_task(c, "summary"), ["tasks", "'summary'"]),
    ("no tasks", lambda c: set_path(c, "tasks", {}), ["tasks"]),
    ("run figures without png", lambda c: set_path(c, "run_figure_formats", ["pdf"]),
     ["run_figure_formats", "png among them"]),
    ("unknown figure format", lambda c: set_path(c, "run_figure_formats", ["png", "jpg"]),
     ["run_figure_formats", "jpg", "pdf", "svg"]),
    ("unknown run figure", lambda c: set_path(c, "run_figures", ["pca_2d", "pca"]),
     ["run_figures.1", "'pca'", "fixed_points", "bifurcation"]),
    ("run figure twice", lambda c: set_path(c, "run_figures", ["graph", "graph"]),
     ["run_figures", "non-unique"]),
]


# (id, what to do to the workdir's config.yaml, texts the one error line must contain)
FILE_CASES = [
    # the unclosed "[" makes "tasks" a list item: the parser fails at the ":" after it
    ("YAML syntax error", lambda path: path.write_text("seeds: [0, 1\ntasks: {2bit: {n_bits: 2}}\n"),
     ["error: config.yaml: not valid YAML: line 2, column 6: expected ',' or ']'"]),
    ("tab in the indentation", lambda path: path.write_text("data:\n\tn_time: 64\n"),
     ["error: config.yaml: not valid YAML: line 2, column 1"]),
    ("a list, not a mapping", lambda path: path.write_text("- 2bit\n- 3bit\n"),
     ["error: config.yaml: expected a mapping of settings", "got list"]),
    ("config.yaml missing", lambda path: path.unlink(), ["error: config.yaml: file not found"]),
]


def run_cases(root, prepares: dict) -> dict:
    """Run snakemake (not a dry run) in the workdir ``prepare(folder)`` makes, for each case (each run forked
    from one import of Snakemake, two at a time): ``{name: (workdir, result)}``."""
    workdirs = [prepare(root / f"case{index}") for index, prepare in enumerate(prepares.values())]
    results = run_snakemake_many(workdirs, cores=1, timeout_s=300)
    return dict(zip(prepares, zip(workdirs, results)))


def with_config_file(change):
    """A workdir preparer: the tiny config, written, then its file changed by ``change(path)``."""

    def prepare(folder):
        workdir = make_workdir(folder, fast_config())
        change(workdir / "config.yaml")
        return workdir

    return prepare


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Every case's snakemake run: the configs of CASES and the config files of FILE_CASES."""
    prepares = {name: lambda folder, change=change: make_workdir(folder, change(fast_config()))
                for name, change, _ in CASES}
    prepares.update({name: with_config_file(change) for name, change, _ in FILE_CASES})
    return run_cases(tmp_path_factory.mktemp("configs"), prepares)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def refusal_line(refusals, name, needles) -> str:
    """The one ``error:`` line of case ``name``, after checking that the run failed with it alone
    (no traceback), that it holds every needle, and that nothing was written under results/."""
    workdir, result = refusals[name]
    assert result.returncode != 0, result.stdout + result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert "Traceback" not in result.stderr and "WorkflowError" not in result.stderr, result.stderr
    assert not (workdir / "results").exists(), sorted((workdir / "results").rglob("*"))
    return lines[0]


@pytest.mark.parametrize("name,needles", [(name, needles) for name, _, needles in CASES],
                         ids=[name for name, _, _ in CASES])
def test_invalid_config_is_refused_with_one_line(refusals, name, needles):
    assert refusal_line(refusals, name, needles).startswith("error: config: ")


@pytest.mark.parametrize("name,needles", [(name, needles) for name, _, needles in FILE_CASES],
                         ids=[name for name, _, _ in FILE_CASES])
def test_unreadable_config_file_is_refused_with_one_line_naming_it(refusals, name, needles):
    refusal_line(refusals, name, needles)


def test_missing_config_yaml_is_fine_when_configfile_gives_the_settings(tmp_path):
    """--configfile alone (no config.yaml in the folder): Snakemake's own rule, kept."""
    workdir = make_workdir(tmp_path, fast_config())
    (workdir / "config.yaml").rename(workdir / "mine.yaml")
    result = run_snakemake(workdir, "--dry-run", "--configfile", "mine.yaml", cores=1, timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert error_lines(result.stderr) == []


def test_valid_tiny_config_passes_validation(tmp_path):
    """The control: the unbroken config is accepted (a dry run plans every job, no error line)."""
    workdir = make_workdir(tmp_path, fast_config())
    result = run_snakemake(workdir, "--dry-run", cores=1, timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert error_lines(result.stderr) == []
    assert "find_fixed_points" in result.stdout + result.stderr
