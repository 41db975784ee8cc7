"""Tuner state is keyed by what defines the search, so a changed config never reuses it."""

import pytest
from helpers import compose

from src.search import state
from src.tracking import store_dir

BASE = ("tracking.uri=sqlite:////tmp/x/mlflow.db",)


def key(*overrides):
    return state.search_key(compose(*BASE, *overrides))


def test_key_is_stable():
    assert key() == key()


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
    assert state.tuner_root(cfg) == store_dir(cfg.tracking.uri) / "tuner"
    assert state.tuner_root(compose(*BASE, "tuner.dir=/tmp/t")).as_posix() == "/tmp/t"
