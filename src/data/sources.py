"""Where the data set's files come from, verified, into Keras' cache, read once per process.

Sources, in order: an explicit `data.dir`; Keras' cache (`$KERAS_HOME` or ~/.keras); the files
an OS package installs (`data.system_dir`, Debian's dataset-fashion-mnist); a download from
`data.url`. Whatever the source, the files are checked against the SHA-256 of their
*decompressed* content (Debian re-compresses the same bytes, so archive hashes differ), copied
atomically into Keras' cache when they came from elsewhere, and read as `keras.datasets` reads
them (src/data/reading.py), without TensorFlow.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from src.data.reading import read_arrays, remember_verified, verified_before
from src.errors import DataError
from src.runtime.atomic import replacing

# Imported inside functions: Keras (TensorFlow) loads only to download the files.

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    title: str
    cache_subdir: str  # where keras.datasets.<name>.load_data looks, under the Keras home
    # file name -> SHA-256 of its content (decompressed for .gz files)
    files: dict[str, str]
    class_names: tuple[str, ...]
    how_to_get: str


SPECS = {
    "fashion_mnist": DatasetSpec(
        title="Fashion-MNIST",
        cache_subdir="datasets/fashion-mnist",
        files={
            "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        how_to_get="install Debian's dataset-fashion-mnist (apt-get install "
        "dataset-fashion-mnist) or set data.dir to a folder with the four files",
    ),
    "mnist": DatasetSpec(
        title="MNIST",
        cache_subdir="datasets",
        # Keras' own hash for its mnist.npz.
        files={"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"},
        class_names=tuple(str(d) for d in range(10)),
        how_to_get="set data.dir to a folder holding Keras' mnist.npz, or allow the download "
        "from data.url",
    ),
}


def keras_cache_dir(spec: DatasetSpec) -> Path:
    """The folder Keras' loader reads, by Keras' own rule: $KERAS_HOME, else ~/.keras,
    else /tmp/.keras when the home folder is not writable."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path(os.path.expanduser("~"))
        home = (base if os.access(base, os.W_OK) else Path("/tmp")) / ".keras"
    return home / spec.cache_subdir


def _content_digest(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    digest = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _problems(spec: DatasetSpec, folder: Path) -> list[str]:
    """What is wrong with the files in `folder`: missing or corrupt ones (empty list = good).
    A file verified before and unchanged since is not read again."""
    problems = []
    remembered = keras_cache_dir(spec)
    for name, expected in spec.files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        if verified_before(path, expected, remembered):
            continue
        try:
            ok = _content_digest(path) == expected
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
            ok = False
        if not ok:
            problems.append(f"{path} is corrupt (content checksum mismatch)")
        else:
            remember_verified(path, expected, remembered)
    return problems


def _copy_into(spec: DatasetSpec, source: Path, cache: Path) -> None:
    """Copy verified files into the cache atomically: a parallel reader never sees half a file."""
    for name in spec.files:
        with replacing(cache / name) as tmp:
            shutil.copyfile(source / name, tmp)


def _download(spec: DatasetSpec, url: str) -> str | None:
    """Fetch every file into the cache with Keras' downloader; returns an error or None."""
    import keras

    for name in spec.files:
        try:
            keras.utils.get_file(
                name,
                origin=url.rstrip("/") + "/" + name,
                cache_subdir=spec.cache_subdir,
                force_download=True,
            )
        except Exception as exc:  # any failure means "not downloadable"
            # Keras words it "URL fetch failure on <url>: <code> -- <reason>".
            reason = str(exc).splitlines()[0].rsplit(" -- ", 1)[-1]
            return f"the download from {url} failed ({reason})"
    problems = _problems(spec, keras_cache_dir(spec))
    return f"the download from {url} is corrupt: {problems[0]}" if problems else None


@functools.lru_cache(maxsize=8)
def ensure_available(name: str, data_dir: str | None, system_dir: str | None, url: str) -> str:
    """Make verified files available in Keras' cache; returns a description of the source.

    Raises:
        DataError: naming the missing or corrupt file and how to get the data.
    """
    if name not in SPECS:
        raise DataError(f"data: unknown data set {name!r}; choose one of {', '.join(SPECS)}")
    spec = SPECS[name]
    cache = keras_cache_dir(spec)
    if data_dir:
        folder = Path(data_dir).expanduser()
        problems = _problems(spec, folder)
        if problems:
            raise DataError(f"data.dir: {problems[0]}; {spec.how_to_get}, or unset data.dir")
        _copy_into(spec, folder, cache)
        return f"data.dir {folder}"
    tried = []
    cache_problems = _problems(spec, cache)
    if not cache_problems:
        return f"Keras cache {cache}"
    tried.append(f"Keras cache: {cache_problems[0]}")
    if system_dir:
        folder = Path(system_dir)
        problems = _problems(spec, folder)
        if not problems:
            _copy_into(spec, folder, cache)
            return f"system files {folder}"
        tried.append(f"system files: {problems[0]}")
    error = _download(spec, url)
    if error is None:
        return f"download from {url}"
    tried.append(error)
    raise DataError(f"data: {spec.title} is not available ({'; '.join(tried)}); {spec.how_to_get}")


@functools.lru_cache(maxsize=4)
def load_raw(
    name: str,
    data_dir: str | None = None,
    system_dir: str | None = None,
    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
):
    """Train and test arrays, as Keras' loader gives them (without importing TensorFlow), read
    once per process per source."""
    source = ensure_available(name, data_dir, system_dir, url)
    (x_train, y_train), (x_test, y_test) = read_arrays(name, keras_cache_dir(SPECS[name]))
    log.info(
        "%s: %d training and %d test images from %s",
        SPECS[name].title,
        len(x_train),
        len(x_test),
        source,
    )
    return (x_train, y_train), (x_test, y_test), source


def clear_caches() -> None:
    """Forget what this process loaded and verified (for tests that change the files)."""
    ensure_available.cache_clear()
    load_raw.cache_clear()
