"""Helpers of the reliability tests: a throw-away copy of the workflow, snakemake runs, file comparison.

Every sweep runs in a temporary folder holding a copy of the Snakefile and workflow/ and its own
config.yaml, so nothing is ever written into the repository's results/.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = yaml.safe_load((REPO / "tests" / "sweep" / "config.yaml").read_text())
# Attributes that differ from run to run by nature (timings); everything else must be identical.
TIMING_ATTRS = {"wall_s"}


def fast_config(seeds=(0, 1), **sections) -> dict:
    """The tiny sweep config with a smaller fixed-point search, updated by ``sections``."""
    config = copy.deepcopy(TINY_CONFIG)
    config["seeds"] = list(seeds)
    config["fixed_points"].update(n_inits=32, max_iters=500)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def make_workdir(folder: Path, config: dict) -> Path:
    """Copy the Snakefile, workflow/ and profiles into ``folder`` and write ``config`` as its config.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "Snakefile", folder / "Snakefile")
    shutil.copytree(REPO / "workflow", folder / "workflow", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".snakemake"))
    profiles = REPO / "profiles"   # Snakemake finds its default profile at ./profiles/default
    if profiles.is_symlink():
        os.symlink(os.readlink(profiles), folder / "profiles")
    elif profiles.is_dir():
        shutil.copytree(profiles, folder / "profiles")
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


def snakemake_env() -> dict:
    """The environment of a snakemake child: this interpreter's venv first on PATH, JAX on the CPU."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def snakemake_command(*args: str, cores: int | None = 2, timeout_s: int = 600) -> list[str]:
    """``snakemake --cores N args…`` under ``timeout -k`` (a hung sweep fails the test, never the suite);
    no ``--cores`` for ``cores=None`` (a profile's executor decides, e.g. Slurm's)."""
    return ["timeout", "-k", "10", str(timeout_s), sys.executable, "-m", "snakemake",
            *(["--cores", str(cores)] if cores is not None else []), *args]


def run_snakemake(workdir: Path, *args: str, cores: int = 2, timeout_s: int = 600) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` to the end; returns the finished process (stdout, stderr as text)."""
    return subprocess.run(snakemake_command(*args, cores=cores, timeout_s=timeout_s), cwd=workdir,
                          env=snakemake_env(), capture_output=True, text=True)


def run_snakemake_many(workdirs: list[Path], *args: str, cores: int = 1, workers: int = 2,
                       timeout_s: int = 600) -> list[subprocess.CompletedProcess]:
    """``snakemake --cores N args…`` in each of ``workdirs``, ``workers`` at a time, each run forked from an
    interpreter that imported Snakemake once (tests/snakemake_forks.py): for the many short runs that only
    parse the workflow. Returns the finished runs in the order of ``workdirs`` (stdout, stderr as text)."""
    command = ["--cores", str(cores), *args]
    jobs = [{"cwd": str(w), "args": command, "stdout": str(w / "snakemake.stdout"),
             "stderr": str(w / "snakemake.stderr")} for w in workdirs]

    def serve(share: list[dict]) -> list[int]:
        server = subprocess.run([sys.executable, str(REPO / "tests" / "snakemake_forks.py")], env=snakemake_env(),
                                input="".join(json.dumps(job) + "\n" for job in share), capture_output=True,
                                text=True, timeout=timeout_s)
        assert server.returncode == 0, server.stderr[-3000:]
        return [json.loads(line)["returncode"] for line in server.stdout.splitlines()]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        shares = [jobs[i::workers] for i in range(workers)]
        codes = [None] * len(jobs)
        for i, returned in enumerate(pool.map(serve, shares)):
            codes[i::workers] = returned
    return [subprocess.CompletedProcess(["snakemake", *command], code, Path(job["stdout"]).read_text(),
                                        Path(job["stderr"]).read_text()) for job, code in zip(jobs, codes)]


def start_snakemake(workdir: Path, *args: str, cores: int | None = 2, timeout_s: int = 600) -> subprocess.Popen:
    """Start snakemake in ``workdir`` in a process group of its own (so the whole tree can be killed); its
    stdout and stderr go to ``workdir/snakemake_outer.log``."""
    log = open(workdir / "snakemake_outer.log", "w")
    return subprocess.Popen(snakemake_command(*args, cores=cores, timeout_s=timeout_s), cwd=workdir,
                            env=snakemake_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the whole tree of ``process`` (snakemake and every job it started, all in its process
    group: Snakemake starts no session of its own), as a lost node would; then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(predicate, timeout_s: float, process: subprocess.Popen | None = None, poll_s: float = 0.05) -> bool:
    """Poll ``predicate()`` until true (→ True), the timeout, or ``process`` ending (→ False)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        if process is not None and process.poll() is not None:
            return bool(predicate())
        time.sleep(poll_s)
    return False


def h5_contents(path: Path, ignore_attrs=TIMING_ATTRS) -> dict:
    """Every dataset (as bytes, dtype and shape) and attribute (dtype and value) of an HDF5 file; the
    attributes of ``ignore_attrs`` (timings) by name only, so that a missing one still shows."""
    out = {}

    def attrs_of(name, obj):
        for key, value in obj.attrs.items():
            value = np.asarray(value)
            out[f"{name}@{key}"] = "ignored" if key in ignore_attrs else (value.dtype.str, repr(value.tolist()))

    with h5py.File(path, "r") as f:
        attrs_of("/", f)

        def visit(name, obj):
            attrs_of(name, obj)
            if isinstance(obj, h5py.Dataset):
                value = np.asarray(obj[()])
                out[name] = (value.dtype.str, value.shape, value.tobytes())

        f.visititems(visit)
    return out


def result_files(workdir: Path) -> list[Path]:
    """The final output files of a sweep (relative paths): run files and the summary; no logs, and not
    ``results/report.html``, which ``snakemake --report`` writes afterwards."""
    results = workdir / "results"
    return sorted(p.relative_to(workdir) for p in results.rglob("*")
                  if p.is_file() and p.parts[len(results.parts)] not in ("logs", "benchmarks", ".jax_cache")
                  and not p.name.startswith(".") and p != results / "report.html")


def runs_table_without_times(path: Path) -> pd.DataFrame:
    """``runs.csv`` as strings, without its wall-time columns."""
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    return table[[c for c in table.columns if not c.startswith("wall_s")]]


def assert_same_outputs(expected: Path, actual: Path) -> None:
    """The same final files; HDF5 datasets and attributes identical (wall times aside); figures and the
    runs table (wall-time columns aside) identical byte for byte."""
    files = result_files(expected)
    assert files and result_files(actual) == files
    for name in files:
        a, b = expected / name, actual / name
        if name.suffix == ".h5":
            ca, cb = h5_contents(a), h5_contents(b)
            assert ca.keys() == cb.keys(), name
            different = [key for key in ca if ca[key] != cb[key]]
            assert not different, f"{name}: {different[:5]}"
        elif name.name == "runs.csv":
            pd.testing.assert_frame_equal(runs_table_without_times(a), runs_table_without_times(b))
        else:
            assert a.read_bytes() == b.read_bytes(), f"{name} differs"


def stray_temporaries(workdir: Path) -> list[Path]:
    """Temporary files of atomic writes left next to final outputs (there must be none after a sweep)."""
    return sorted(p for p in (workdir / "results").rglob(".*.tmp"))


def flip_inside_dataset(path: Path, dataset: str) -> None:
    """Flip one byte in the middle of the stored bytes of ``dataset`` (its first chunk)."""
    with h5py.File(path, "r") as f:
        dset = f[dataset]
        if dset.chunks is not None:
            info = dset.id.get_chunk_info(0)
            offset, size = info.byte_offset, info.size
        else:
            offset, size = dset.id.get_offset(), dset.id.get_storage_size()
    assert offset is not None and size > 0
    blob = bytearray(path.read_bytes())
    blob[offset + size // 2] ^= 0x10
    path.write_bytes(bytes(blob))


SEALED_DAMAGE = ("damaged: its bytes no longer match the SHA-256 sealed in it when it was written "
                 "(changed or cut since)")
"""What a loader says after the file's name when a sealed file was changed (docs/file-formats.md)."""


@contextlib.contextmanager
def edited(path: Path):
    """Open a file of fixedpoints with h5py to change it on purpose (a malformed file that a loader's own
    checks must refuse), then seal it again, so that the seal does not refuse it first."""
    from fixedpoints.io import seal

    with h5py.File(path, "r+") as f:
        yield f
    seal(path)


def unseal(path: Path) -> None:
    """Zero the seal (the user block of `fixedpoints.io.SEAL_SIZE` bytes): the file reads as one written
    without a seal, which HDF5's own checksums (object headers, Fletcher-32 on datasets) guard."""
    from fixedpoints.io import SEAL_SIZE

    blob = bytearray(path.read_bytes())
    blob[:SEAL_SIZE] = bytes(SEAL_SIZE)
    path.write_bytes(bytes(blob))


def corrupt(blob: bytes, data) -> bytes:
    """A random truncation or 1–8 random byte flips of ``blob``, drawn with hypothesis' ``data``."""
    from hypothesis import strategies as st

    blob = bytearray(blob)
    if data.draw(st.booleans(), label="truncate"):
        return bytes(blob[: data.draw(st.integers(0, len(blob) - 1), label="length")])
    for _ in range(data.draw(st.integers(1, 8), label="n_flips")):
        i = data.draw(st.integers(0, len(blob) - 1), label="offset")
        blob[i] ^= data.draw(st.integers(1, 255), label="mask")
    return bytes(blob)


def report_variable(html: str, name: str):
    """The JSON value (object, array or string) of ``var <name> = ...`` in a Snakemake report's script."""
    match = re.search(rf"^\s*var {name} = (?=[{{\[\"])", html, re.M)
    assert match, f"report has no variable {name}"
    return json.JSONDecoder().raw_decode(html, match.end())[0]
