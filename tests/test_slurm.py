"""The tiny sweep run on a real Slurm cluster through workflow/profiles/slurm equals, bit for bit,
the same sweep run locally.

Needs a reachable Slurm with job accounting (the plugin's default status checks use ``sacct``;
without it they wait forever); ``.ci/slurm_cluster.sh up`` brings a single-node one up on a Debian
machine as root. Without one the test is skipped, saying why.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from reliability_support import assert_same_outputs, make_workdir, result_files, start_snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "sweep" / "config.yaml"
SWEEP_TIMEOUT_S = 600  # a hang fails the test instead of stalling CI


def slurm_unreachable_reason():
    """Why no Slurm cluster can take jobs here, or None when one can."""
    if shutil.which("sinfo") is None:
        return "no Slurm here: `sinfo` is not on PATH (`.ci/slurm_cluster.sh up` starts a test cluster)"
    try:
        answer = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True,
                                timeout=20)
    except subprocess.TimeoutExpired:
        return "Slurm does not answer: `sinfo` took over 20 s"
    if answer.returncode != 0:
        return f"Slurm does not answer: `sinfo` failed: {answer.stderr.strip()}"
    states = answer.stdout.split()
    if not any(state.rstrip("*~#$@").split("+")[0] in ("idle", "mixed", "allocated") for state in states):
        return f"Slurm has no node that can take jobs (node states: {states or 'none'})"
    try:
        accounting = subprocess.run(["sacct", "--noheader", "-X", "--starttime=now"], capture_output=True,
                                    text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Slurm has no job accounting: `sacct` failed ({error}); the plugin's status checks need it"
    if accounting.returncode != 0:
        why = "; ".join(accounting.stderr.strip().splitlines())
        return f"Slurm has no job accounting: `sacct` failed ({why}); the plugin's status checks need it"
    return None


def workdir(path: Path, runs_per_job: int) -> Path:
    """A copy of the workflow in ``path``, with the tiny sweep as its config.yaml (``runs_per_job`` runs of a
    task per job)."""
    return make_workdir(path, {**yaml.safe_load(TINY_CONFIG.read_text()), "runs_per_job": runs_per_job})


def finish(run: subprocess.Popen, cwd: Path) -> tuple[int, str]:
    """Wait for a run of `start_snakemake` in ``cwd`` (``timeout`` ends it); its exit status and output."""
    return run.wait(), (cwd / "snakemake_outer.log").read_text()


def succeeded(returncode: int, output: str, what: str) -> str:
    """``output``, after asserting that the snakemake run ``what`` succeeded."""
    assert returncode == 0, (f"{what} exited {returncode}{' (timed out)' if returncode in (124, 137) else ''}:"
                             f"\n{output[-6000:]}")
    return output


RUNS_PER_JOB = (1, 2)


@pytest.fixture(scope="module")
def cluster_sweeps(tmp_path_factory):
    """The tiny sweep through workflow/profiles/slurm, once with one job per run and stage and once with
    both seeds in one job per stage, run at the same time (each spends most of its time waiting for the
    queue and the status checks): {runs_per_job: (workdir, exit status, output)}."""
    reason = slurm_unreachable_reason()
    if reason:
        pytest.skip(reason)
    started = {}
    for runs_per_job in RUNS_PER_JOB:
        cluster = workdir(tmp_path_factory.mktemp(f"slurm{runs_per_job}"), runs_per_job)
        started[runs_per_job] = cluster, start_snakemake(cluster, "--workflow-profile", "workflow/profiles/slurm",
                                                         "--slurm-init-seconds-before-status-checks", "5",
                                                         cores=None, timeout_s=SWEEP_TIMEOUT_S)
    sweeps = {}
    for runs_per_job, (cluster, run) in started.items():
        status, output = finish(run, cluster)
        submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
        if status != 0 and submitted:  # leave nothing queued or running on the cluster
            subprocess.run(["scancel", *submitted], capture_output=True, timeout=60)
        sweeps[runs_per_job] = cluster, status, output
    return sweeps


@pytest.mark.parametrize("runs_per_job", RUNS_PER_JOB)
def test_sweep_on_slurm_equals_local_run(cluster_sweeps, runs_per_job, request):
    """The cluster's sweep with one job per run and stage, or with both seeds in one job per stage
    (runs_per_job 2), equals the local per-run sweep (the session's tiny sweep, run with --cores 2); either
    way each group of runs is one Slurm job."""
    local, sweep = request.getfixturevalue("tiny_sweep")   # after the Slurm check: no local sweep for a skip
    cluster, status, output = cluster_sweeps[runs_per_job]
    log = succeeded(status, output, "the sweep through workflow/profiles/slurm")

    # one Slurm job per group of runs (the grouped data -> train -> fixed points -> plots chain), all completed
    assert sweep == yaml.safe_load(TINY_CONFIG.read_text()) and sweep.get("runs_per_job", 1) == 1
    n_runs = len(sweep["tasks"]) * len(sweep["architectures"]) * len(sweep["seeds"])
    assert n_runs % runs_per_job == 0
    group_jobs = re.findall(r"submitted with SLURM jobid (\d+) \(log: [^)]*/group_run", log)
    assert n_runs > 0 and len(group_jobs) == n_runs // runs_per_job, log[-6000:]
    states = subprocess.run(["sacct", "--noheader", "--parsable2", "-X", "--format=State", "-j",
                             ",".join(group_jobs)], capture_output=True, text=True, timeout=60).stdout.split()
    assert states == ["COMPLETED"] * len(group_jobs)

    names = [path.name for path in result_files(local)]
    assert "fixed_points.h5" in names and any(name.endswith(".png") for name in names)
    assert_same_outputs(local, cluster)
