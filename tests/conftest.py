"""Shared fixtures: a private Keras cache, a real SQLite MLflow store per test, tiny configs.

The Keras home is redirected before Keras is imported, so tests may empty or corrupt the cache
without touching the user's own. It is seeded from Debian's package or the user's cache.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

_KERAS_HOME = Path(tempfile.mkdtemp(prefix="keras-home-"))
os.environ["KERAS_HOME"] = str(_KERAS_HOME)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import TINY, compose  # noqa: E402

from src.data import SPECS  # noqa: E402

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = tuple(SPECS["fashion_mnist"].files)


def _fashion_source() -> Path | None:
    """A folder holding the four Fashion-MNIST files: Debian's, else the user's Keras cache."""
    for folder in (DEBIAN_DIR, Path.home() / ".keras" / "datasets" / "fashion-mnist"):
        if all((folder / name).is_file() for name in FASHION_FILES):
            return folder
    return None


FASHION_SOURCE = _fashion_source()
CACHE = _KERAS_HOME / "datasets" / "fashion-mnist"
if FASHION_SOURCE is not None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in FASHION_FILES:
        shutil.copyfile(FASHION_SOURCE / name, CACHE / name)


def pytest_collection_modifyitems(config, items):
    """Slow tests first (in their modules' order): on two pytest-xdist workers the long ones
    are shared out early, and the quick unit tests fill the gaps at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_KERAS_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _unit_tests_do_not_train(request, monkeypatch):
    """The fast layer (`-m "not slow"`) must not train: `fit` fails any test not marked slow."""
    if request.node.get_closest_marker("slow") is None:
        import keras

        def refuse(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} trains a model: mark it slow")

        monkeypatch.setattr(keras.Model, "fit", refuse)


@pytest.fixture
def fashion_dir() -> Path:
    """A folder with the real Fashion-MNIST files (the suite needs them: `make data`)."""
    if FASHION_SOURCE is None:
        pytest.fail(
            "Fashion-MNIST not found: run `make data` (apt-get install dataset-fashion-mnist) first"
        )
    return FASHION_SOURCE


@pytest.fixture
def store(tmp_path) -> str:
    """The tracking URI of a brand-new SQLite store in a temporary folder."""
    return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"


@pytest.fixture
def tiny(store):
    """Compose the real config shrunk to a tiny budget, tracking into the test's own store."""

    def make(*overrides: str):
        return compose(*TINY, f"tracking.uri={store}", *overrides)

    return make
