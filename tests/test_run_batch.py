"""workflow/scripts/run_batch.py, the runner of the workflow's jobs of several runs (runs_per_job > 1):
each run's files equal the per-run script's, its log and benchmark file are its own, and the first
failing run ends the job with one line naming its log. (The whole sweep in this mode: test_workflow.py.)"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from reliability_support import h5_contents, snakemake_env

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "workflow" / "scripts" / "run_batch.py"
SCRIPT = ROOT / "workflow" / "scripts" / "generate_data.py"


def data_args(seed, out, n_bits=2):
    return f"--n-bits {n_bits} --seed {seed} --n-time 16 --n-train 8 --n-valid 4 --n-test 4 --out {out}"


def run_batch(folder, runs):
    """run_batch.py on generate_data.py with ``runs`` [(args, log, benchmark)], in ``folder``."""
    spec = json.dumps([{"args": args, "log": str(log), "benchmark": str(bench)} for args, log, bench in runs])
    return subprocess.run([sys.executable, str(RUNNER), str(SCRIPT), spec], cwd=folder, env=snakemake_env(),
                          capture_output=True, text=True, timeout=300)


def test_each_run_writes_the_per_run_scripts_files_its_log_and_its_benchmark(tmp_path):
    runs = [(data_args(seed, tmp_path / f"b{seed}.h5"), tmp_path / f"b{seed}.log", tmp_path / f"b{seed}.tsv")
            for seed in (3, 4)]
    result = run_batch(tmp_path, runs)
    assert result.returncode == 0, result.stderr
    for seed in (3, 4):
        alone = subprocess.run([sys.executable, str(SCRIPT), *data_args(seed, tmp_path / f"a{seed}.h5").split()],
                               env=snakemake_env(), capture_output=True, text=True, timeout=300)
        assert alone.returncode == 0, alone.stderr
        assert h5_contents(tmp_path / f"b{seed}.h5") == h5_contents(tmp_path / f"a{seed}.h5")
        log = (tmp_path / f"b{seed}.log").read_text()
        assert log.replace(f"b{seed}.h5", f"a{seed}.h5") == alone.stdout + alone.stderr
        table = pd.read_csv(tmp_path / f"b{seed}.tsv", sep="\t")
        assert list(table.columns) == ["s", "h:m:s", "cpu_time"] and len(table) == 1
        assert 0 < table["s"].iloc[0] < 300 and table["cpu_time"].iloc[0] > 0
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == ["run 1/2", "run 2/2"]


def test_the_first_failing_run_ends_the_job_with_one_line_naming_its_log(tmp_path):
    runs = [(data_args(0, tmp_path / "ok.h5"), tmp_path / "ok.log", tmp_path / "ok.tsv"),
            (data_args(1, tmp_path / "bad.h5", n_bits=0), tmp_path / "bad.log", tmp_path / "bad.tsv"),
            (data_args(2, tmp_path / "never.h5"), tmp_path / "never.log", tmp_path / "never.tsv")]
    result = run_batch(tmp_path, runs)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: generate_data.py failed (exit 1) for run 2/3; its log: {tmp_path / 'bad.log'}"]
    assert "Traceback" not in result.stderr
    assert (tmp_path / "bad.log").read_text() == "error: n_bits must be a positive integer, got 0\n"
    assert (tmp_path / "ok.h5").is_file() and (tmp_path / "ok.tsv").is_file()
    assert not any((tmp_path / name).exists() for name in ("bad.h5", "bad.tsv", "never.h5", "never.log"))


def test_a_malformed_list_of_runs_is_refused_with_one_line(tmp_path):
    for spec, needle in (("[{", "error: RUNS: not JSON"), ('[{"args": "--seed 0"}]', "error: RUNS: expected")):
        result = subprocess.run([sys.executable, str(RUNNER), str(SCRIPT), spec], cwd=tmp_path,
                                env=snakemake_env(), capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and result.stderr.strip().startswith(needle), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_bug_leaves_its_traceback_in_the_runs_log_and_an_exit_message_is_kept(tmp_path):
    """A script that raises (a bug, not bad input) or exits with a message: as its own process would, the
    traceback or the message goes to the run's log; the job's output keeps its one error line."""
    script = tmp_path / "odd.py"
    script.write_text("def main(argv):\n"
                      "    if argv == ['bug']:\n        raise RuntimeError('boom')\n"
                      "    raise SystemExit('error: told to stop')\n")
    for arg, needles in (("bug", ["Traceback", "RuntimeError: boom"]), ("stop", ["error: told to stop"])):
        spec = json.dumps([{"args": arg, "log": str(tmp_path / f"{arg}.log"), "benchmark": str(tmp_path / "b.tsv")}])
        result = subprocess.run([sys.executable, str(RUNNER), str(script), spec], cwd=tmp_path, env=snakemake_env(),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
            f"error: odd.py failed (exit 1) for run 1/1; its log: {tmp_path / f'{arg}.log'}"]
        log = (tmp_path / f"{arg}.log").read_text()
        assert all(needle in log for needle in needles), log
        assert not (tmp_path / "b.tsv").exists()
