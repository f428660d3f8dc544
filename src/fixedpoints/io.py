"""HDF5 files of the project: atomic writing, checked reading, and the data and model formats.

Every file carries root attributes ``schema`` (e.g. ``"fixedpoints/model"``) and ``schema_version``,
and the ``provenance_*`` attributes of `fixedpoints.provenance` (software, code revision, platform).
Every file is sealed: its first 512 bytes (an HDF5 user block, which HDF5 readers skip) hold the
SHA-256 of the rest, written when the file is complete and checked by `read_h5` before HDF5 parses
anything, so a changed or cut file is refused in one line instead of returning wrong numbers, or
hanging: HDF5 keeps variable-length strings in a global heap without checksums, and a damaged heap can
make its reader loop forever. Under the seal, files use the HDF5 1.10+ object headers (checksums of
their metadata) and `write_array` stores every non-empty dataset with the Fletcher-32 checksum filter,
which still guard files written without a seal.
Writers go through `atomic_h5` (temporary file in the target folder, then ``os.replace``), so an
interrupted job never leaves a file at the final path. Readers go through `read_h5`, which turns
every failure into a `FileFormatError` whose one-line message starts with the file name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from . import provenance

if TYPE_CHECKING:  # imported where used, so reading and writing data files does not load JAX
    from .models import RNN
    from .training import TrainingHistory

SCHEMA_VERSION = 1
DATA_SCHEMA = "fixedpoints/data"
MODEL_SCHEMA = "fixedpoints/model"
DATA_SPLITS = ("train", "valid", "test")


class FileFormatError(ValueError):
    """An input file is missing, unreadable, or not in the expected format; the message names it."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path in the folder of ``path`` to write to; renamed to ``path`` when the block succeeds.

    On any error (or a kill) nothing appears at ``path``; the temporary file is removed when Python
    still can. The final file gets the usual permissions (0666 less the umask), not mkstemp's 0600,
    so collaborators on a shared file system can read results.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp_name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


SEAL_SIZE = 512
"""Bytes of the user block at the start of every file written: ``SEAL_MAGIC``, the hex SHA-256 of the
bytes after the block, a newline, then zeros."""
SEAL_MAGIC = b"fixedpoints sha256 "


def _digest_after_seal(handle) -> str:
    """The hex SHA-256 of a file's bytes after its user block (``handle`` open for binary reading)."""
    handle.seek(SEAL_SIZE)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def seal(path: str | os.PathLike) -> None:
    """Seal the HDF5 file ``path`` again after editing it (e.g. with h5py): write the SHA-256 of its bytes
    after the user block into the user block. Files that fixedpoints writes are sealed already; an edited
    one is refused as damaged until it is sealed again. ValueError if the file has no user block of
    `SEAL_SIZE` bytes (HDF5's own structures would be overwritten)."""
    with h5py.File(path, "r") as f:
        if f.userblock_size != SEAL_SIZE:
            raise ValueError(f"{path}: has a user block of {f.userblock_size} bytes, a seal needs {SEAL_SIZE}")
    _write_seal(path)


def _write_seal(path: str | os.PathLike) -> None:
    """Write the seal into the user block of ``path``, which has one of `SEAL_SIZE` bytes."""
    with open(path, "r+b") as handle:
        header = SEAL_MAGIC + _digest_after_seal(handle).encode() + b"\n"
        handle.seek(0)
        handle.write(header.ljust(SEAL_SIZE, b"\0"))


def _check_seal(path: Path) -> None:
    """Raise FileFormatError when the file has a seal that its bytes do not match (it was changed or cut
    after it was written). A file without a seal (written by other software) is left to HDF5's checks."""
    with open(path, "rb") as handle:
        header = handle.read(SEAL_SIZE)
        if not header.startswith(SEAL_MAGIC):
            return
        recorded = header[len(SEAL_MAGIC):len(SEAL_MAGIC) + 64].decode("ascii", "replace")
        if _digest_after_seal(handle) != recorded:
            raise FileFormatError(f"{path}: damaged: its bytes no longer match the SHA-256 sealed in it when it "
                                  f"was written (changed or cut since)")


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, schema: str) -> Iterator[h5py.File]:
    """Open a new HDF5 file for writing that appears at ``path``, sealed, only when the block succeeds.

    The root attributes ``schema`` and ``schema_version`` are written first; the provenance of this
    process (`fixedpoints.provenance`, attributes ``provenance_*``) last, replacing any the block copied
    from another file, so that they always say what wrote this file. The closed file gets its seal
    (`SEAL_SIZE` bytes at the start: the SHA-256 of the rest), then is renamed into place.
    """
    with atomic_path(path) as tmp_path:
        with h5py.File(tmp_path, "w", libver=("v110", "latest"), track_order=True, userblock_size=SEAL_SIZE) as f:
            f.attrs["schema"] = schema
            f.attrs["schema_version"] = SCHEMA_VERSION
            yield f
            f.attrs.update(provenance.attributes())
        _write_seal(tmp_path)           # created with the user block above: no need to open it with HDF5 again


def write_array(group: h5py.Group, name: str, data, dtype=None) -> h5py.Dataset:
    """Create dataset ``name`` in ``group``; non-empty arrays get the Fletcher-32 checksum filter."""
    value = np.asarray(data, dtype)
    if value.ndim == 0 or value.size == 0:
        return group.create_dataset(name, data=value)
    return group.create_dataset(name, data=value, chunks=value.shape, fletcher32=True)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


@contextlib.contextmanager
def read_h5(path: str | os.PathLike, schema: str) -> Iterator[h5py.File]:
    """Open ``path`` for reading after checking its seal (if it has one), ``schema`` and ``schema_version``.

    Any error raised while the block reads the file (missing key, unreadable data) becomes a
    `FileFormatError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: file not found")
    try:
        _check_seal(path)
    except OSError as error:
        raise FileFormatError(f"{path}: cannot be read ({_one_line(error)})") from None
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError, RuntimeError) as error:
        raise FileFormatError(f"{path}: not a readable HDF5 file ({_one_line(error)})") from None
    try:
        with f:
            found = attr_text(f.attrs.get("schema"))
            if found != schema:
                raise FileFormatError(f"{path}: schema is {found!r}, expected {schema!r}")
            version = f.attrs.get("schema_version")
            if version is None or np.ndim(version) != 0 or not 1 <= int(version) <= SCHEMA_VERSION:
                raise FileFormatError(f"{path}: schema_version is {version!r}, this version of fixedpoints "
                                      f"reads {SCHEMA_VERSION}")
            yield f
    except FileFormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError) as error:
        raise FileFormatError(f"{path}: {_one_line(error)}") from None


def attr_text(value) -> str | None:
    """An HDF5 string attribute as ``str`` (h5py may return bytes or numpy strings)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def content_attrs(attrs) -> dict:
    """A file's root attributes without the bookkeeping ones (``schema``, ``schema_version``,
    ``provenance_*``): scalars as Python values, byte strings as ``str``."""
    return {k: (v.item() if hasattr(v, "item") and np.ndim(v) == 0 else attr_text(v) if isinstance(v, bytes) else v)
            for k, v in attrs.items() if k not in ("schema", "schema_version") and not k.startswith("provenance_")}


def read_array(group: h5py.Group, key: str, *, ndim: int | None = None, dtype=None,
               finite: bool = False) -> np.ndarray:
    """Read dataset ``key`` of ``group``; raise KeyError/ValueError naming it when absent or malformed.

    A dataset whose stored bytes fail their Fletcher-32 checksum gives ``checksum mismatch in dataset
    /params/w_hh`` (HDF5 itself only says that a filter failed).
    """
    if key not in group:
        raise KeyError(f"missing dataset {group.name.rstrip('/')}/{key}")
    node = group[key]
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"{node.name} is not a dataset")
    try:
        value = node[()]
    except OSError as error:
        if node.fletcher32 and "filter returned failure" in str(error):
            raise ValueError(f"checksum mismatch in dataset {node.name}") from None
        raise ValueError(f"cannot read dataset {node.name} ({_one_line(error)})") from None
    if ndim is not None and np.ndim(value) != ndim:
        raise ValueError(f"dataset {node.name} has {np.ndim(value)} dimensions, expected {ndim}")
    if dtype is not None:
        value = np.asarray(value, dtype)
    if finite and not np.all(np.isfinite(value)):
        raise ValueError(f"dataset {node.name} contains NaN or inf")
    return value


def read_attr(obj, key: str, kind: type):
    """Attribute ``key`` converted to ``kind`` (int, float, bool or str); KeyError names it if absent."""
    if key not in obj.attrs:
        raise KeyError(f"missing attribute {key!r}")
    value = obj.attrs[key]
    if kind is str:
        return attr_text(value)
    if np.ndim(value) != 0:
        raise ValueError(f"attribute {key!r} must be a scalar, got shape {np.shape(value)}")
    return kind(value)


# -- data.h5 --------------------------------------------------------------------------------------

def save_data(path: str | os.PathLike, splits: Mapping[str, Mapping[str, np.ndarray]], *, n_bits: int,
              n_time: int, p: float, seed: int) -> None:
    """Write ``data.h5``: attrs task/n_bits/n_time/p/seed, groups train/valid/test with inputs/targets."""
    with atomic_h5(path, DATA_SCHEMA) as f:
        f.attrs.update(task="flipflop", n_bits=int(n_bits), n_time=int(n_time), p=float(p), seed=int(seed))
        for split in DATA_SPLITS:
            group = f.create_group(split)
            for key in ("inputs", "targets"):
                write_array(group, key, splits[split][key], np.float32)


def load_data(path: str | os.PathLike) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """Read ``data.h5`` → (``{split: {"inputs", "targets"}}``, root attributes), all checked."""
    with read_h5(path, DATA_SCHEMA) as f:
        attrs = {"task": read_attr(f, "task", str), "n_bits": read_attr(f, "n_bits", int),
                 "n_time": read_attr(f, "n_time", int), "p": read_attr(f, "p", float),
                 "seed": read_attr(f, "seed", int)}
        splits = {}
        for split in DATA_SPLITS:
            if split not in f:
                raise KeyError(f"missing group /{split}")
            group = f[split]
            arrays = {key: read_array(group, key, ndim=3, dtype=np.float32, finite=True)
                      for key in ("inputs", "targets")}
            expected = arrays["inputs"].shape[:2] + (attrs["n_bits"],)
            for key, value in arrays.items():
                if value.shape != expected or value.shape[0] == 0:
                    raise ValueError(f"dataset /{split}/{key} has shape {value.shape}, expected "
                                     f"[trials>0, time, n_bits={attrs['n_bits']}] matching /{split}/inputs")
            splits[split] = arrays
    return splits, attrs


# -- model.h5 -------------------------------------------------------------------------------------

RNN_TYPES = ("tanh", "gru", "lstm")
INPUT_WEIGHT = {"tanh": "w_ih", "gru": "w_ir", "lstm": "w_ii"}
"""The input weight [n_inputs, n_hidden] of each cell (the one that gives n_inputs)."""


def check_rnn_type(rnn_type: str) -> str:
    """Return ``rnn_type`` lower-cased, or raise ValueError naming it and the choices."""
    name = str(rnn_type).lower()
    if name not in RNN_TYPES:
        raise ValueError(f"unknown rnn_type {rnn_type!r}; expected one of {', '.join(RNN_TYPES)}")
    return name


def state_size(rnn_type: str, n_hidden: int) -> int:
    """Size of the state the fixed-point analysis sees: 2·n_hidden for the LSTM, else n_hidden."""
    return 2 * n_hidden if check_rnn_type(rnn_type) == "lstm" else n_hidden


def parameter_shapes(rnn_type: str, n_inputs: int, n_hidden: int, n_outputs: int) -> dict[str, tuple]:
    """Name → shape of every parameter of a cell, readout and initial state included."""
    rnn_type = check_rnn_type(rnn_type)
    m, n = n_inputs, n_hidden
    shapes: dict[str, tuple] = {}
    gates = {"tanh": [("ih", "hh", "h")], "gru": [("ir", "hr", "r"), ("iz", "hz", "z"), ("in", "hn", "n")],
             "lstm": [(f"i{g}", f"h{g}", g) for g in "ifgo"]}[rnn_type]
    for w_in, w_rec, b in gates:
        shapes[f"w_{w_in}"] = (m, n)
        shapes[f"w_{w_rec}"] = (n, n)
        shapes[f"b_{b}"] = (n,)
    shapes["w_out"] = (n, n_outputs)
    shapes["b_out"] = (n_outputs,)
    shapes["h0"] = (state_size(rnn_type, n),)
    return shapes


def check_param_arrays(rnn_type: str, arrays: Mapping[str, np.ndarray],
                       source: str = "params") -> dict[str, np.ndarray]:
    """Check a name → array mapping against the shapes of ``rnn_type``; return float32 numpy arrays.

    A missing ``h0`` becomes zeros. Raises ValueError naming ``source`` and the offending key when a
    parameter is missing, unknown, of an inconsistent shape, or not finite.
    """
    rnn_type = check_rnn_type(rnn_type)
    for required in ("w_out", "b_out", INPUT_WEIGHT[rnn_type]):
        if required not in arrays:
            raise ValueError(f"{source}: missing parameter {required!r} for rnn_type {rnn_type!r}")
    if np.ndim(arrays["w_out"]) != 2 or np.ndim(arrays[INPUT_WEIGHT[rnn_type]]) != 2:
        name = "w_out" if np.ndim(arrays["w_out"]) != 2 else INPUT_WEIGHT[rnn_type]
        raise ValueError(f"{source}: parameter {name!r} has shape {np.shape(arrays[name])}, expected a matrix")
    n_hidden, n_outputs = np.shape(arrays["w_out"])
    n_inputs = np.shape(arrays[INPUT_WEIGHT[rnn_type]])[0]
    expected = parameter_shapes(rnn_type, n_inputs, n_hidden, n_outputs)
    unknown = sorted(set(arrays) - set(expected))
    if unknown:
        raise ValueError(f"{source}: unknown parameter(s) {unknown} for rnn_type {rnn_type!r}")
    params = {}
    for name, shape in expected.items():
        if name not in arrays:
            if name == "h0":
                params[name] = np.zeros(shape, np.float32)
                continue
            raise ValueError(f"{source}: missing parameter {name!r} for rnn_type {rnn_type!r}")
        value = np.asarray(arrays[name])
        if value.shape != shape:
            raise ValueError(f"{source}: parameter {name!r} has shape {value.shape}, expected {shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{source}: parameter {name!r} contains NaN or inf")
        params[name] = value.astype(np.float32)
    return params


def save_model(rnn: RNN, path: str | os.PathLike, history: TrainingHistory | None = None,
               seed: int | None = None) -> None:
    """Write ``model.h5``: attrs rnn_type/sizes/seed, group ``params``, and group ``training`` if given."""
    if seed is None:
        seed = history.hyperparameters.get("seed", -1) if history is not None else -1
    with atomic_h5(path, MODEL_SCHEMA) as f:
        f.attrs.update(rnn_type=rnn.rnn_type, n_inputs=rnn.n_inputs, n_hidden=rnn.n_hidden,
                       n_outputs=rnn.n_outputs, seed=int(seed))
        params = f.create_group("params")
        for name in sorted(rnn.params):
            write_array(params, name, rnn.params[name], np.float32)
        if history is not None:
            training = f.create_group("training")
            write_array(training, "train_loss", history.train_loss, np.float64)
            write_array(training, "valid_loss", history.valid_loss, np.float64)
            write_array(training, "valid_epoch", history.valid_epoch, np.int64)
            training.attrs.update(epochs=int(history.epochs), final_train_loss=history.final_train_loss,
                                  final_valid_loss=history.final_valid_loss, converged=bool(history.converged),
                                  diverged=bool(history.diverged), wall_s=float(history.wall_s),
                                  **history.hyperparameters)


def load_model(path: str | os.PathLike) -> RNN:
    """Read the network of ``model.h5``; a file with only root attrs and ``params`` is enough."""
    from .models import RNN, params_from_arrays

    rnn_type, arrays = load_model_arrays(path)
    return RNN(rnn_type, params_from_arrays(rnn_type, arrays))


def load_model_arrays(path: str | os.PathLike) -> tuple[str, dict[str, np.ndarray]]:
    """Read ``model.h5`` with numpy only (no JAX) → (rnn_type, {name: float32 array}), checked.

    The arrays are those of `check_param_arrays` (``h0`` zeros when the file has none); the root
    attributes n_inputs/n_hidden/n_outputs, when present, must agree with them.
    """
    with read_h5(path, MODEL_SCHEMA) as f:
        rnn_type = check_rnn_type(read_attr(f, "rnn_type", str))
        if "params" not in f:
            raise KeyError("missing group /params")
        arrays = {name: read_array(f["params"], name) for name in f["params"]}
        try:
            arrays = check_param_arrays(rnn_type, arrays, source="/params")
        except ValueError as error:
            raise FileFormatError(f"{path}: {error}") from None
        sizes = {"n_inputs": arrays[INPUT_WEIGHT[rnn_type]].shape[0], "n_hidden": arrays["w_out"].shape[0],
                 "n_outputs": arrays["w_out"].shape[1]}
        for key, size in sizes.items():
            if key in f.attrs and read_attr(f, key, int) != size:
                raise ValueError(f"attribute {key}={f.attrs[key]} disagrees with /params ({key}={size})")
    return rnn_type, arrays


def load_history(path: str | os.PathLike) -> TrainingHistory | None:
    """The `TrainingHistory` stored in ``model.h5``, or None for a file without a ``training`` group."""
    from .training import TrainingHistory

    with read_h5(path, MODEL_SCHEMA) as f:
        if "training" not in f:
            return None
        group = f["training"]
        known = {"epochs", "final_train_loss", "final_valid_loss", "converged", "diverged", "wall_s"}
        return TrainingHistory(
            train_loss=read_array(group, "train_loss", ndim=1, dtype=np.float64),
            valid_loss=read_array(group, "valid_loss", ndim=1, dtype=np.float64),
            valid_epoch=read_array(group, "valid_epoch", ndim=1, dtype=np.int64),
            epochs=read_attr(group, "epochs", int), converged=read_attr(group, "converged", bool),
            diverged=read_attr(group, "diverged", bool), wall_s=read_attr(group, "wall_s", float),
            hyperparameters={k: v.item() if hasattr(v, "item") else v
                             for k, v in group.attrs.items() if k not in known})
