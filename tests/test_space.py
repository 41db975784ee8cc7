"""The search space: every entry form, tables per optimizer, type and bounds checks, and what
keras-tuner samples."""

import keras_tuner as kt
import pytest

from src.errors import ConfigError
from src.model import searchable
from src.model.mlp import MLP
from src.search import space
from src.search.sampling import sample

ARGUMENTS = searchable(MLP, "mlp")
BASE = {
    "hidden_units": 64,
    "layers": 1,
    "dropout": 0.0,
    "optimizer": "adam",
    "learning_rate": 0.001,
}


def parse(**entries):
    return space.parse_space({**BASE, **entries}, ARGUMENTS)


@pytest.mark.parametrize(
    "raw,expected",
    [
        (128, space.Fixed(128)),
        ([64, 128], space.Choice((64, 128))),
        ([64], space.Fixed(64)),
        ("int 32..512 step 32", space.Range("int", 32, 512, 32, "linear")),
        ("int 32..512", space.Range("int", 32, 512, None, "linear")),
        ("int 16..256 log", space.Range("int", 16, 256, None, "log")),
        ({"int": [32, 256], "step": 32}, space.Range("int", 32, 256, 32, "linear")),
        ({"int": [16, 256], "sampling": "log"}, space.Range("int", 16, 256, None, "log")),
    ],
)
def test_hidden_units_forms(raw, expected):
    assert parse(hidden_units=raw).entries["hidden_units"] == expected


def test_a_range_names_its_type():
    spec = parse(learning_rate="float 1e-4..1e-2 log").entries["learning_rate"]
    assert spec == space.Range("float", 1e-4, 1e-2, None, "log")
    # Whole-number bounds of a float range stay a float range (they used to become integers).
    assert parse(learning_rate={"float": [1, 10]}).entries["learning_rate"].kind == "float"


@pytest.mark.parametrize(
    "entries,fragment",
    [
        ({"hidden_units": "int 512..32"}, "greater than max"),
        ({"hidden_units": [64, 64]}, "repeats"),
        ({"hidden_units": []}, "empty"),
        ({"hidden_units": 0}, "not allowed"),
        ({"hidden_units": 1.5}, "whole number"),
        ({"hidden_units": "int 1..10 stride 2"}, "cannot read"),
        ({"hidden_units": "int(32, 512, step=32)"}, "old range syntax"),
        ({"hidden_units": "float 32..512"}, "whole number"),
        ({"learning_rate": "int 1..10"}, "is a float"),
        ({"learning_rate": 0.0}, "> 0"),
        ({"l2": "float 0..1e-2 log"}, "needs min > 0"),
        ({"learning_rate": "float 1e-4..1e-2 lg"}, "cannot read"),
        ({"optimizer": "float 1..2"}, "not a range"),
        ({"optimizer": "adamm"}, "choose from"),
        ({"layers": 0}, "not allowed"),
        ({"dropout": -0.1}, "[0, 1)"),
        ({"dropout": 1.0}, "[0, 1)"),
        ({"units": 64}, "searchable: batch_size"),
        ({"batch_size": [0, 32]}, "not allowed"),
    ],
)
def test_invalid_entries(entries, fragment):
    with pytest.raises(ConfigError, match=r"^search\.") as err:
        parse(**entries)
    assert fragment in str(err.value)


def test_a_table_needs_a_row_per_chosen_value():
    with pytest.raises(ConfigError, match=r"no entry for optimizer 'sgd'"):
        parse(optimizer=["adam", "sgd"], learning_rate={"by": "optimizer", "adam": 0.001})


def test_rows_of_values_not_chosen_are_checked_too():
    table = {"by": "optimizer", "adam": 0.001, "rmsprop": "float 1e-4..1e-2 lgo"}
    with pytest.raises(ConfigError, match=r"^search\.learning_rate\.rmsprop: cannot read"):
        parse(optimizer="adam", learning_rate=table)
    with pytest.raises(ConfigError, match=r"^search\.learning_rate\.adamm: optimizer cannot be"):
        parse(optimizer="adam", learning_rate={"by": "optimizer", "adam": 0.001, "adamm": 0.1})


def test_each_optimizer_samples_from_its_own_learning_rate_range():
    ranges = {"adam": (1e-4, 1e-3), "sgd": (0.05, 0.5)}
    table = {"by": "optimizer", **{k: f"float {lo}..{hi} log" for k, (lo, hi) in ranges.items()}}
    sp = parse(optimizer=["adam", "sgd"], learning_rate=table)
    hp = kt.HyperParameters()
    sample(hp, sp)
    oracle = kt.oracles.RandomSearchOracle(
        objective="val_accuracy", max_trials=40, seed=3, hyperparameters=hp
    )
    seen = set()
    for _ in range(40):
        values = oracle._random_values()
        trial_hp = hp.copy()
        trial_hp.values = values
        params = sample(trial_hp, sp)
        lo, hi = ranges[params["optimizer"]]
        assert lo <= params["learning_rate"] <= hi
        assert f"learning_rate_{params['optimizer']}" in values
        seen.add(params["optimizer"])
    assert seen == {"adam", "sgd"}


def test_values_are_recorded_and_unmentioned_arguments_take_their_defaults():
    hp = kt.HyperParameters()
    values = sample(hp, parse(batch_size=[64, 128]))
    assert hp.values == {**BASE, "batch_size": 64}
    defaults = {"l2": 0.0, "weight_decay": 0.0, "learning_rate_decay": "none"}
    assert values == {**BASE, "batch_size": 64, **defaults}
    assert isinstance(values["learning_rate"], float) and isinstance(values["hidden_units"], int)


def test_searched_and_log_scaled_names():
    sp = parse(hidden_units="int 32..64", learning_rate="float 1e-4..1e-2 log", layers=[1, 2])
    assert sp.searched() == ["hidden_units", "layers", "learning_rate"]
    assert sp.log_scaled() == {"learning_rate"}


def test_a_table_is_searched_only_if_the_rows_in_use_vary():
    table = {"by": "optimizer", "adam": 0.001, "sgd": "float 1e-3..0.5 log"}
    alone = parse(optimizer="adam", learning_rate=table)
    assert alone.searched() == [] and alone.log_scaled() == set()  # sgd's row is never used
    both = parse(optimizer=["adam", "sgd"], learning_rate=table)
    assert both.searched() == ["optimizer", "learning_rate"]
    assert both.log_scaled() == {"learning_rate"}


def test_a_family_is_refused_when_a_search_could_not_draw_its_arguments():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Maybe:
        width: int | None = None

        def features(self, x):
            return x

    @dataclass(frozen=True)
    class Clash:
        learning_rate: float = 0.1

        def features(self, x):
            return x

    with pytest.raises(ConfigError, match=r"^model._target_: Maybe.width is typed"):
        searchable(Maybe, "maybe")
    with pytest.raises(ConfigError, match=r"clashes with the training step"):
        searchable(Clash, "clash")


def test_spelling_does_not_change_the_search_key():
    from helpers import compose

    from src.search import state

    keys = {
        state.search_key(compose(*o))
        for o in (
            ["search.l2=0"],
            ["search.l2=0.0"],
            ["search.hidden_units={int: [32, 512], step: 32}"],
        )
    }
    assert len(keys) == 1
    assert state.search_key(compose("search.l2=0.001")) not in keys


def test_export_reads_the_hyperparameters_of_trials_recorded_before_jobs_listed_them():
    from src.tracking.queries import _own

    job_settings = {"loss", "data", "tuner", "epochs", "batch_size", "seed", "search_space"}
    trial = {
        "hidden_units": "64",
        "optimizer": "sgd",
        "learning_rate_sgd": "0.1",
        "learning_rate": "0.1",
        "tuner/epochs": "2",
        "loss": "sparse",
        "batch_size": "32",
    }
    assert _own(trial, job_settings) == ["hidden_units", "optimizer", "learning_rate"]
