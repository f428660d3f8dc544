"""What made an output: the software, code revision, platform and numeric settings of this process.

`collect` gathers them once per process (cached) as strings; `fixedpoints.io.atomic_h5` writes them
as root attributes ``provenance_<key>`` of every HDF5 file the project writes. Keys:

``fixedpoints``   version of the installed fixedpoints package
``git_revision``  commit of the checkout the package is imported from, 40 hex digits, or ``unknown``
                  (not a git checkout, git absent, or the package is an installed copy)
``git_dirty``     ``true`` when tracked files differ from that commit (untracked files do not count),
                  ``false``, or ``unknown``
``python``, ``jax``, ``jaxlib``, ``optax``, ``numpy``, ``h5py``   their versions (``absent`` if not installed)
``platform``      operating system and machine, e.g. ``Linux x86_64``
``cpu``           CPU model (``/proc/cpuinfo`` on Linux, sysctl on macOS; ``unknown`` elsewhere)
``xla_flags``     the ``XLA_FLAGS`` environment variable ("" when unset)
``jax_env``       the JAX settings in the environment that change numbers (`NUMERIC_JAX_ENV`), as
                  ``NAME=value`` separated by spaces ("" when none is set)

Versions are read from the installed packages' metadata (`importlib.metadata`), so collecting never
imports JAX: writing a data file or a figure does not start it. Nothing here depends on the time,
the host name or a path, so a rerun on the same machine and checkout writes the same attributes.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from types import MappingProxyType

PREFIX = "provenance_"
"""Prefix of the provenance attributes in HDF5 files."""

PACKAGES = ("fixedpoints", "jax", "jaxlib", "optax", "numpy", "h5py")
"""Distributions whose installed version is recorded (key = distribution name)."""

NUMERIC_JAX_ENV = ("JAX_PLATFORMS", "JAX_ENABLE_X64", "JAX_DEFAULT_MATMUL_PRECISION", "JAX_DEFAULT_PRNG_IMPL",
                   "JAX_THREEFRY_PARTITIONABLE")
"""Environment variables of JAX settings that change the numbers (device, precision, random bits)."""

KEYS = ("fixedpoints", "git_revision", "git_dirty", "python", "jax", "jaxlib", "optax", "numpy", "h5py",
        "platform", "cpu", "xla_flags", "jax_env")
"""The provenance keys, in the order they are written."""

UNKNOWN = "unknown"
ABSENT = "absent"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ABSENT


def _git(folder: Path, *args: str) -> str | None:
    """Output of ``git -C folder args`` (stripped), or None when git is missing or fails."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    try:
        result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30,
                                env=env, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_state(source: str | os.PathLike = __file__) -> tuple[str, str]:
    """(revision, dirty) of the git checkout in which file ``source`` (default: this module) is tracked,
    or ``("unknown", "unknown")``: not in a checkout, git missing, or ``source`` not tracked there (an
    installed copy of the package in a venv inside some other checkout is not that checkout's code)."""
    source = Path(source).resolve()
    if _git(source.parent, "ls-files", "--error-unmatch", "--", source.name) is None:
        return UNKNOWN, UNKNOWN
    revision = _git(source.parent, "rev-parse", "--verify", "HEAD")
    changes = _git(source.parent, "status", "--porcelain", "--untracked-files=no")
    if not revision or changes is None:
        return UNKNOWN, UNKNOWN
    return revision, "true" if changes else "false"


def cpu_model() -> str:
    """The CPU's model name, read cheaply (no subprocess on Linux); ``unknown`` when not found."""
    system = platform.system()
    if system == "Linux":
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
                for line in cpuinfo:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                        return " ".join(value.split())
        except OSError:
            pass
    elif system == "Darwin":
        try:
            result = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                    timeout=10, stdin=subprocess.DEVNULL, check=False)
            if result.returncode == 0 and result.stdout.strip():
                return result.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or UNKNOWN


@functools.cache
def collect() -> Mapping[str, str]:
    """The provenance of this process, ``{key: str}`` in the order of `KEYS` (read-only; computed once)."""
    revision, dirty = git_state()
    versions = {name: _version(name) for name in PACKAGES}
    values = {**versions, "git_revision": revision, "git_dirty": dirty, "python": platform.python_version(),
              "platform": f"{platform.system() or UNKNOWN} {platform.machine() or UNKNOWN}", "cpu": cpu_model(),
              "xla_flags": os.environ.get("XLA_FLAGS", ""),
              "jax_env": " ".join(f"{name}={os.environ[name]}" for name in NUMERIC_JAX_ENV if name in os.environ)}
    return MappingProxyType({key: values[key] for key in KEYS})


def attributes() -> dict[str, str]:
    """The provenance of this process as HDF5 root attributes ``{"provenance_<key>": value}``."""
    return {PREFIX + key: value for key, value in collect().items()}


def from_attrs(attrs: Mapping) -> dict[str, str]:
    """The provenance recorded in a file's root attributes ``attrs``, ``{key: str}`` in the order of `KEYS`;
    ``absent`` for a key the file does not have (a file written before provenance was recorded)."""
    from .io import attr_text  # imported here: io imports this module

    return {key: attr_text(attrs[PREFIX + key]) if PREFIX + key in attrs else ABSENT for key in KEYS}
