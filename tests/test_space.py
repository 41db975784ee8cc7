"""The search space: every entry form, per-optimizer learning rates, and what keras-tuner samples."""

import keras_tuner as kt
import pytest

from src.errors import ConfigError
from src.search import space

BASE = {
    "hidden_units": 64,
    "layers": 1,
    "dropout": 0.0,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "learning_rate_by_optimizer": {},
}


def parse(**entries):
    return space.parse_space({**BASE, **entries})


@pytest.mark.parametrize(
    "raw,expected",
    [
        (128, space.Fixed(128)),
        ([64, 128], space.Choice((64, 128))),
        ([64], space.Fixed(64)),
        ("int(32, 512, step=32)", space.Range("int", 32, 512, 32, "linear")),
        ("int(min=32, max=512)", space.Range("int", 32, 512, None, "linear")),
        ({"min": 32, "max": 256, "step": 32}, space.Range("int", 32, 256, 32, "linear")),
        ({"min": 16, "max": 256, "sampling": "log"}, space.Range("int", 16, 256, None, "log")),
    ],
)
def test_hidden_units_forms(raw, expected):
    assert parse(hidden_units=raw).hidden_units == expected


def test_float_range_with_bare_sampling_word():
    spec = parse(learning_rate="float(1e-4, 1e-2, sampling=log)").learning_rate
    assert spec == space.Range("float", 1e-4, 1e-2, None, "log")


@pytest.mark.parametrize(
    "entries,fragment",
    [
        ({"hidden_units": "int(512, 32)"}, "greater than max"),
        ({"hidden_units": [64, 64]}, "repeats"),
        ({"hidden_units": []}, "empty"),
        ({"hidden_units": 0}, "between 1 and"),
        ({"hidden_units": "int(1, 10, stride=2)"}, "unexpected argument"),
        ({"learning_rate": 0.0}, "> 0"),
        ({"learning_rate": "float(0, 1e-2, sampling=log)"}, "needs min > 0"),
        ({"learning_rate": "float(1e-4, 1e-2, sampling=lg)"}, "sampling"),
        ({"optimizer": "float(1, 2)"}, "cannot be a range"),
        ({"optimizer": "adamm"}, "choose from"),
        ({"layers": 0}, "between 1 and 16"),
        ({"dropout": -0.1}, "[0, 1)"),
    ],
)
def test_invalid_entries(entries, fragment):
    with pytest.raises(ConfigError, match=r"^search\.") as err:
        parse(**entries)
    assert fragment in str(err.value)


def test_by_optimizer_needs_an_entry_per_optimizer():
    with pytest.raises(ConfigError, match=r"no entry for optimizer 'sgd'"):
        parse(
            optimizer=["adam", "sgd"],
            learning_rate="by_optimizer",
            learning_rate_by_optimizer={"adam": 0.001},
        )


def test_each_optimizer_samples_from_its_own_learning_rate_range():
    ranges = {"adam": (1e-4, 1e-3), "sgd": (0.05, 0.5)}
    sp = parse(
        optimizer=["adam", "sgd"],
        learning_rate="by_optimizer",
        learning_rate_by_optimizer={
            k: f"float({lo}, {hi}, sampling=log)" for k, (lo, hi) in ranges.items()
        },
    )
    hp = kt.HyperParameters()
    space.sample(hp, sp)
    oracle = kt.oracles.RandomSearchOracle(
        objective="val_accuracy", max_trials=40, seed=3, hyperparameters=hp
    )
    seen = set()
    for _ in range(40):
        values = oracle._random_values()
        trial_hp = hp.copy()
        trial_hp.values = values
        params = space.sample(trial_hp, sp)
        lo, hi = ranges[params.optimizer]
        assert lo <= params.learning_rate <= hi
        assert f"learning_rate_{params.optimizer}" in values
        seen.add(params.optimizer)
    assert seen == {"adam", "sgd"}


def test_fixed_values_are_recorded_as_hyperparameters():
    hp = kt.HyperParameters()
    params = space.sample(hp, parse())
    assert hp.values == {
        "optimizer": "adam",
        "learning_rate": 0.001,
        "hidden_units": 64,
        "layers": 1,
        "dropout": 0.0,
    }
    assert params.learning_rate == 0.001 and params.hidden_units == 64
