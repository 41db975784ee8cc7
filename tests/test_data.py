"""Data sources in order, integrity checks, and the seeded validation split."""

import functools
import http.server
import shutil
import threading

import numpy as np
import pytest
from conftest import CACHE, FASHION_FILES
from helpers import one_line_error, run_cli

from src import data
from src.errors import DataError


@pytest.fixture(autouse=True)
def fresh_process_cache():
    data.clear_caches()
    yield
    data.clear_caches()


@pytest.fixture
def empty_cache(tmp_path):
    """Keras' cache without Fashion-MNIST for the test; restored afterwards."""
    aside = tmp_path / "cache-aside"
    shutil.move(CACHE, aside)
    yield CACHE
    shutil.rmtree(CACHE, ignore_errors=True)
    shutil.move(aside, CACHE)


@pytest.fixture
def copy_of_files(tmp_path, fashion_dir):
    folder = tmp_path / "fashion"
    shutil.copytree(fashion_dir, folder)
    return folder


@pytest.fixture
def mirror(fashion_dir):
    """A local HTTP server standing in for the download mirror."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(fashion_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join(timeout=10)


def _corrupt(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_explicit_data_dir_comes_first(copy_of_files):
    (x, y), (x_test, _), source = data.load_raw("fashion_mnist", str(copy_of_files))
    assert source.startswith("data.dir")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28)
    assert set(np.unique(y)) == set(range(10))


def test_keras_cache_is_used_when_no_dir_is_given():
    *_, source = data.load_raw("fashion_mnist", None, None)
    assert source.startswith("Keras cache")


def test_system_files_fill_an_empty_cache(empty_cache, fashion_dir):
    *_, source = data.load_raw("fashion_mnist", None, str(fashion_dir))
    assert source.startswith("system files")
    assert all((empty_cache / name).is_file() for name in FASHION_FILES)


def test_download_when_nothing_is_local(empty_cache, mirror):
    (x, _), _, source = data.load_raw("fashion_mnist", None, None, mirror)
    assert source == f"download from {mirror}"
    assert x.shape == (60000, 28, 28)
    assert all((empty_cache / name).is_file() for name in FASHION_FILES)


def test_a_corrupt_cache_is_repaired_from_the_next_source(fashion_dir):
    _corrupt(CACHE / "train-labels-idx1-ubyte.gz")
    *_, source = data.load_raw("fashion_mnist", None, str(fashion_dir))
    assert source.startswith("system files")
    assert not data._problems(data.SPECS["fashion_mnist"], CACHE)


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "delete"])
def test_damaged_data_dir_is_a_one_line_error(copy_of_files, damage):
    victim = copy_of_files / "train-images-idx3-ubyte.gz"
    if damage == "corrupt":
        _corrupt(victim)
    elif damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:1000])
    else:
        victim.unlink()
    with pytest.raises(DataError) as err:
        data.load_raw("fashion_mnist", str(copy_of_files))
    message = str(err.value)
    assert message.startswith("data.dir:") and "train-images-idx3-ubyte.gz" in message
    assert ("missing" if damage == "delete" else "corrupt") in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "\n" not in message


def test_no_source_at_all_says_how_to_get_the_data(empty_cache, tmp_path):
    with pytest.raises(DataError) as err:
        data.load_raw("fashion_mnist", None, str(tmp_path / "nothing"), "http://127.0.0.1:9/")
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "data.dir" in message
    assert "\n" not in message


def test_mnist_data_dir_checks_keras_hash(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"mnist.npz is corrupt"):
        data.load_raw("mnist", str(tmp_path))


def test_split_is_seeded_disjoint_and_from_training_images_only():
    a = data.load("fashion_mnist", seed=1, limit=5000, val_fraction=0.2)
    b = data.load("fashion_mnist", seed=1, limit=5000, val_fraction=0.2)
    c = data.load("fashion_mnist", seed=2, limit=5000, val_fraction=0.2)
    assert len(a.x_train) == 4000 and len(a.x_val) == 1000
    assert len(a.x_test) == 10000  # the test set is never cut or mixed in
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_val, c.x_val)
    train_idx, val_idx = data.split(5000, 0.2, seed=1)
    assert not set(train_idx) & set(val_idx)
    assert set(train_idx) | set(val_idx) == set(range(5000))  # the first N images only


def test_one_hot_labels_come_from_the_same_arrays():
    ds = data.load("fashion_mnist", seed=0, limit=500)
    one_hot = ds.labels("train", one_hot=True)
    assert one_hot.dtype == np.float32 and one_hot.shape == (len(ds.y_train), 10)
    np.testing.assert_array_equal(one_hot.argmax(axis=1), ds.labels("train", one_hot=False))


@pytest.mark.slow  # a process of its own
def test_cli_reports_a_missing_data_dir_in_one_line(tmp_path):
    result = run_cli("src.data", f"data.dir={tmp_path}")
    assert one_line_error(result).startswith("error: data.dir:")


def test_arrays_are_read_as_keras_reads_them_without_tensorflow():
    from keras.datasets import fashion_mnist

    from src.data.reading import read_arrays

    (x, y), (xt, yt) = read_arrays("fashion_mnist", CACHE)
    (kx, ky), (kxt, kyt) = fashion_mnist.load_data()
    for ours, theirs in ((x, kx), (y, ky), (xt, kxt), (yt, kyt)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_a_file_changed_after_it_was_verified_is_checked_again(copy_of_files):
    spec = data.SPECS["fashion_mnist"]
    assert not data._problems(spec, copy_of_files)  # verified, and remembered
    victim = copy_of_files / "train-labels-idx1-ubyte.gz"
    _corrupt(victim)
    assert any(
        "train-labels-idx1-ubyte.gz is corrupt" in p for p in data._problems(spec, copy_of_files)
    )


def test_split_digests_name_the_files_and_how_they_were_split():
    """MLflow's dataset digests: the same split on any machine, another split another digest."""
    one = data.split_digests("fashion_mnist", 1500, 0.1, 42)
    assert one == data.split_digests("fashion_mnist", 1500, 0.1, 42)
    assert set(one) == {"training", "validation", "test"} and len(set(one.values())) == 3
    assert all(len(d) == 12 for d in one.values())  # MLflow keeps at most 36 characters
    other = data.split_digests("fashion_mnist", 3000, 0.1, 42)
    assert other["training"] != one["training"] and other["test"] == one["test"]
    assert data.split_digests("mnist", 1500, 0.1, 42)["test"] != one["test"]
