"""The data set's files read into arrays without TensorFlow, and verified files remembered.

Reading needs only gzip and NumPy, so a job reads its data while TensorFlow is being imported
(zlib and hashing release the GIL: the two use both cores). The arrays are the ones
`keras.datasets.<name>.load_data()` returns (tests/test_data.py compares them).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from src.runtime.atomic import write_atomically

_VERIFIED = "verified.json"


def _idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format): magic (two zero bytes, type 0x08, dimensions), then each
    dimension as a big-endian int32, then the unsigned bytes."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_arrays(name: str, folder: Path):
    """((x_train, y_train), (x_test, y_test)) of data set `name` from its files in `folder`."""
    if name == "mnist":
        with np.load(folder / "mnist.npz", allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    train = (
        _idx(folder / "train-images-idx3-ubyte.gz"),
        _idx(folder / "train-labels-idx1-ubyte.gz"),
    )
    test = (_idx(folder / "t10k-images-idx3-ubyte.gz"), _idx(folder / "t10k-labels-idx1-ubyte.gz"))
    return train, test


def _stamp(path: Path) -> list:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def verified_before(path: Path, digest: str, cache: Path) -> bool:
    """Whether `path` was verified against `digest` and has not changed since (same size and
    modification time): checking 60 MB of content costs 0.3 s at every start otherwise."""
    try:
        known = json.loads((cache / _VERIFIED).read_text())
        return known.get(str(path.resolve())) == [*_stamp(path), digest]
    except (OSError, ValueError, AttributeError):
        return False


def remember_verified(path: Path, digest: str, cache: Path) -> None:
    try:
        known = json.loads((cache / _VERIFIED).read_text())
    except (OSError, ValueError):
        known = {}
    known[str(path.resolve())] = [*_stamp(path), digest]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        write_atomically(cache / _VERIFIED, json.dumps(known, indent=1))
    except OSError:
        pass  # a read-only cache: verified again next time
