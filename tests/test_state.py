"""Tuner state is keyed by what defines the search, so a changed config never reuses it."""

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT, compose

from src.search import state
from src.tracking import store_dir

BASE = ("tracking.uri=sqlite:////tmp/x/mlflow.db",)


def key(*overrides):
    return state.search_key(compose(*BASE, *overrides))


# Prints the default config's search key, in a process of its own.
KEY_SNIPPET = f"""
import sys
sys.path.insert(0, "tests")
from helpers import compose
from src.search import state
print(state.search_key(compose(*{BASE!r})))
"""


@pytest.mark.slow  # two processes of their own
def test_key_is_stable_across_processes():
    """Two fresh interpreters (each its own string-hash seed) and this one agree on the key."""
    keys = []
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", KEY_SNIPPET],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        keys.append(result.stdout.strip().splitlines()[-1])
    assert keys[0] == keys[1] == key()
    assert len(keys[0]) == 12 and int(keys[0], 16) >= 0


@pytest.mark.parametrize(
    "override",
    [
        "loss=categorical",
        "data=mnist",
        "data.limit=100",
        "data.val_fraction=0.2",
        "search.hidden_units=128",
        "search.optimizer=sgd",
        "search.learning_rate=0.01",
        "tuner=bayesian",
        "tuner.max_trials=3",
        "train.epochs=2",
        "search.batch_size=64",
        "train.seed=1",
        "tracking.uri=sqlite:////tmp/y/mlflow.db",
        "tracking.experiment=other",
    ],
)
def test_everything_that_defines_the_search_changes_the_key(override):
    assert key(override) != key()


@pytest.mark.parametrize(
    "override",
    [
        "data.dir=/somewhere",
        "train.resume=false",
        "tuner.dir=/elsewhere",
        "train.steps_per_execution=1",
    ],
)
def test_where_and_how_fast_do_not_change_the_key(override):
    assert key(override) == key()


def test_state_lives_beside_a_sqlite_store():
    cfg = compose(*BASE)
    assert (
        state.tuner_root(cfg.tuner.dir, cfg.tracking.uri) == store_dir(cfg.tracking.uri) / "tuner"
    )
    assert state.tuner_root("/tmp/t", "sqlite:///x/mlflow.db").as_posix() == "/tmp/t"


def test_state_writes_are_atomic(tmp_path):
    path = tmp_path / "oracle.json"
    state.write_json_atomically(path, {"trials": 1})
    with pytest.raises(TypeError):
        state.write_json_atomically(path, {"trials": object()})  # fails half way
    assert json.loads(path.read_text()) == {"trials": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["oracle.json"]
