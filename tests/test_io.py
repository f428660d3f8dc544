"""HDF5 data and model files: round trips, atomic writes, and one-line errors naming the file."""

import os

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fixedpoints import FileFormatError, FlipFlopData, RNN, load_data, load_history, load_model, save_data, save_model
from fixedpoints.io import SEAL_MAGIC, SEAL_SIZE, atomic_h5
from fixedpoints.training import TrainingHistory

from reliability_support import SEALED_DAMAGE, corrupt, flip_inside_dataset, unseal


def make_splits(seed=0, n_bits=2):
    gen = FlipFlopData(n_bits=n_bits, n_time=8, p=0.5, random_seed=seed)
    return {split: gen.generate_data(n) for split, n in (("train", 6), ("valid", 3), ("test", 2))}


def test_data_round_trip(tmp_path):
    splits = make_splits()
    save_data(tmp_path / "data.h5", splits, n_bits=2, n_time=8, p=0.5, seed=0)
    loaded, attrs = load_data(tmp_path / "data.h5")
    assert attrs == {"task": "flipflop", "n_bits": 2, "n_time": 8, "p": 0.5, "seed": 0}
    for split in splits:
        for key in ("inputs", "targets"):
            np.testing.assert_array_equal(loaded[split][key], splits[split][key])
    with h5py.File(tmp_path / "data.h5") as f:
        assert f.attrs["schema"] == "fixedpoints/data" and f.attrs["schema_version"] == 1
        assert f["train/inputs"].dtype == np.float32


@pytest.mark.parametrize("rnn_type", ["tanh", "gru", "lstm"])
def test_model_round_trip_with_history(tmp_path, rnn_type):
    rnn = RNN.init(rnn_type, 3, 4, 3, seed=5)
    history = TrainingHistory(np.array([0.5, 0.1]), np.array([0.2]), np.array([1]), 2, False, False, 0.25,
                              {"learning_rate": 0.08, "seed": 5})
    save_model(rnn, tmp_path / "model.h5", history=history)
    loaded = load_model(tmp_path / "model.h5")
    assert loaded.rnn_type == rnn_type and set(loaded.params) == set(rnn.params)
    for name in rnn.params:
        np.testing.assert_array_equal(loaded.params[name], rnn.params[name])
    h = load_history(tmp_path / "model.h5")
    np.testing.assert_array_equal(h.train_loss, history.train_loss)
    assert (h.epochs, h.converged, h.diverged, h.hyperparameters["learning_rate"]) == (2, False, False, 0.08)
    with h5py.File(tmp_path / "model.h5") as f:
        assert f.attrs["seed"] == 5 and f["training"].attrs["final_train_loss"] == 0.1


def test_hand_written_model_file_loads(tmp_path):
    rng = np.random.RandomState(0)
    params = {"w_ih": rng.randn(2, 3), "w_hh": rng.randn(3, 3), "b_h": rng.randn(3), "w_out": rng.randn(3, 2),
              "b_out": rng.randn(2)}
    with h5py.File(tmp_path / "mine.h5", "w") as f:
        f.attrs.update(schema="fixedpoints/model", schema_version=1, rnn_type="tanh")
        for k, v in params.items():
            f.create_dataset(f"params/{k}", data=v)
    rnn = load_model(tmp_path / "mine.h5")
    np.testing.assert_allclose(rnn.params["w_hh"], params["w_hh"].astype(np.float32))
    np.testing.assert_array_equal(rnn.params["h0"], np.zeros(3))
    assert load_history(tmp_path / "mine.h5") is None


def write(path, **attrs):
    with h5py.File(path, "w") as f:
        f.attrs.update(attrs)
        f.create_dataset("params/w_ih", data=np.zeros((2, 3)))
    return path


@pytest.mark.parametrize("maker,needle", [
    (lambda p: p, "file not found"),
    (lambda p: p.write_bytes(b"not hdf5 at all") and p, "not a readable HDF5 file"),
    (lambda p: write(p, schema="fixedpoints/data", schema_version=1), "schema is 'fixedpoints/data'"),
    (lambda p: write(p, schema="fixedpoints/model", schema_version=2), "schema_version"),
    (lambda p: write(p, schema="fixedpoints/model", schema_version=1), "rnn_type"),
    (lambda p: write(p, schema="fixedpoints/model", schema_version=1, rnn_type="tanh"), "w_out"),
    (lambda p: write(p, schema="fixedpoints/model", schema_version=1, rnn_type="elman"), "elman"),
])
def test_bad_model_files_give_one_line_error_naming_file(tmp_path, maker, needle):
    path = tmp_path / "model.h5"
    maker(path)
    with pytest.raises(FileFormatError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(str(path)) and needle in message and "\n" not in message


def test_truncated_data_file_is_refused(tmp_path):
    save_data(tmp_path / "data.h5", make_splits(), n_bits=2, n_time=8, p=0.5, seed=0)
    blob = (tmp_path / "data.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FileFormatError, match="cut.h5"):
        load_data(tmp_path / "cut.h5")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError):
        with atomic_h5(target, "fixedpoints/data") as f:
            f.create_dataset("x", data=np.zeros(3))
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    splits = make_splits(seed=1)
    save_data(folder / "data.h5", splits, n_bits=2, n_time=8, p=0.5, seed=1)
    rnn = RNN.init("gru", 2, 3, 2, seed=1)
    save_model(rnn, folder / "model.h5")
    return {"data": ((folder / "data.h5").read_bytes(), load_data, splits),
            "model": ((folder / "model.h5").read_bytes(), load_model, rnn)}


def same_as_original(kind, loaded, original):
    if kind == "data":
        splits, _ = loaded
        return all(np.array_equal(splits[s][k], original[s][k]) for s in original for k in ("inputs", "targets"))
    return all(np.array_equal(loaded.params[k], original.params[k]) for k in original.params)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["data", "model"]), data=st.data())
def test_corrupted_files_fail_clearly_or_load_correct_data(tmp_path, good_files, kind, data):
    blob, loader, original = good_files[kind]
    path = tmp_path / f"{kind}.h5"
    path.write_bytes(corrupt(blob, data))
    try:
        loaded = loader(path)
    except FileFormatError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    # A flip in unused bytes may leave the file valid: then the content must be the original.
    assert same_as_original(kind, loaded, original)


@pytest.mark.parametrize("kind,dataset", [("data", "train/inputs"), ("data", "test/targets"),
                                          ("model", "params/w_hn"), ("model", "params/b_out")])
def test_flipped_byte_is_a_checksum_mismatch_in_its_dataset(tmp_path, good_files, kind, dataset):
    """One byte flipped inside a dataset's stored data: the seal refuses the file; in a file without a
    seal, the dataset's Fletcher-32 checksum does, and the error names the file and that dataset."""
    blob, loader, _ = good_files[kind]
    path = tmp_path / f"{kind}.h5"
    path.write_bytes(blob)
    flip_inside_dataset(path, dataset)
    with pytest.raises(FileFormatError) as info:
        loader(path)
    assert str(info.value) == f"{path}: {SEALED_DAMAGE}"
    unseal(path)
    with pytest.raises(FileFormatError) as info:
        loader(path)
    assert str(info.value) == f"{path}: checksum mismatch in dataset /{dataset}"


def test_files_are_sealed_with_the_sha256_of_their_bytes(tmp_path, good_files):
    """The first SEAL_SIZE bytes hold the SHA-256 of the rest (recomputed here with hashlib); HDF5 skips
    them, and a file whose seal is zeroed still loads the same content."""
    import hashlib

    for kind, (blob, loader, original) in good_files.items():
        header, rest = blob[:SEAL_SIZE], blob[SEAL_SIZE:]
        assert header == (SEAL_MAGIC + hashlib.sha256(rest).hexdigest().encode() + b"\n").ljust(SEAL_SIZE, b"\0")
        path = tmp_path / f"{kind}.h5"
        path.write_bytes(blob)
        unseal(path)
        assert same_as_original(kind, loader(path), original)


def test_a_damaged_string_heap_is_refused_not_read_forever(tmp_path, good_files):
    """HDF5 keeps string attributes in a global heap without checksums; the size field of that heap
    damaged made HDF5's reader loop forever (a CI run hung here). The seal refuses the file first."""
    blob, loader, _ = good_files["model"]
    heap = blob.find(b"GCOL")
    assert heap > 0
    damaged = bytearray(blob)
    damaged[heap + 8] ^= 0x10          # the collection's size (bytes 8-15 after the signature)
    path = tmp_path / "model.h5"
    path.write_bytes(bytes(damaged))
    with pytest.raises(FileFormatError, match="damaged"):
        loader(path)


def test_atomic_outputs_get_umask_permissions_not_mkstemp_private(tmp_path):
    old = os.umask(0o022)
    try:
        save_data(tmp_path / "data.h5", make_splits(), n_bits=2, n_time=8, p=0.5, seed=0)
    finally:
        os.umask(old)
    assert (tmp_path / "data.h5").stat().st_mode & 0o777 == 0o644


def test_an_unreadable_file_is_one_line_naming_it(tmp_path, good_files, monkeypatch):
    """The seal is read with Python's open: an OSError there (e.g. no permission) is a FileFormatError."""
    import fixedpoints.io as io_module

    blob, loader, _ = good_files["model"]
    path = tmp_path / "model.h5"
    path.write_bytes(blob)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io_module, "open", denied, raising=False)
    with pytest.raises(FileFormatError) as info:
        loader(path)
    assert str(info.value) == f"{path}: cannot be read ([Errno 13] Permission denied)"


def test_seal_refuses_a_file_without_a_user_block(tmp_path):
    """Sealing writes the first SEAL_SIZE bytes: in a file without a user block they are HDF5's superblock,
    so seal() refuses it and leaves it as it was."""
    import h5py

    from fixedpoints.io import seal

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=rf"other\.h5: has a user block of 0 bytes, a seal needs {SEAL_SIZE}"):
        seal(path)
    assert path.read_bytes() == before
