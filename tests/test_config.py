"""Every config option and named sweep composes through Hydra and passes validation; bad values
are refused with a message naming the field."""

import itertools

import pytest
from helpers import ROOT, compose
from omegaconf import OmegaConf

from src import config
from src.errors import ConfigError

GROUPS = {
    g: sorted(p.stem for p in (ROOT / "conf" / g).glob("*.yaml"))
    for g in ("loss", "data", "tuner", "tracking")
}
SWEEPS = sorted(p.stem for p in (ROOT / "sweeps").glob("*.yaml"))


def test_groups_have_the_required_options():
    assert GROUPS["loss"] == ["categorical", "sparse"]
    assert set(GROUPS["tuner"]) == {"random", "bayesian", "hyperband", "grid"}
    assert {"fashion_mnist", "mnist"} <= set(GROUPS["data"])
    assert {"loss_comparison", "width_lr"} <= set(SWEEPS)


@pytest.mark.parametrize("loss,data,tuner,tracking", list(itertools.product(*GROUPS.values())))
def test_every_combination_composes_and_validates(loss, data, tuner, tracking):
    cfg = compose(f"loss={loss}", f"data={data}", f"tuner={tuner}", f"tracking={tracking}")
    config.validate(cfg)
    assert cfg.loss.name == loss and cfg.tuner.name == tuner and cfg.data.name == data


def test_defaults_and_required_keys():
    cfg = compose()
    config.validate(cfg)
    assert cfg.loss.name == "sparse"
    assert cfg.data.limit is None
    assert cfg.tracking.uri == "sqlite:///mlruns/mlflow.db"
    assert cfg.tracking.experiment == "fashion_mnist"
    for key in (
        "tuner.max_trials",
        "train.epochs",
        "train.batch_size",
        "train.seed",
        "search.hidden_units",
        "search.optimizer",
        "search.learning_rate",
    ):
        assert OmegaConf.select(cfg, key) is not None, key


@pytest.mark.parametrize("name", SWEEPS)
def test_named_sweeps_compose_state_their_study_and_sweep(name):
    cfg = compose(f"sweep={name}")
    config.validate(cfg)
    assert cfg.study.name == name
    assert cfg.study.goal and cfg.study.studied and cfg.study.fixed
    with_hydra = _compose_with_hydra(f"sweep={name}")
    assert str(with_hydra.hydra.mode) == "RunMode.MULTIRUN"
    assert with_hydra.hydra.sweeper.params


def test_loss_comparison_sweeps_both_losses():
    params = _compose_with_hydra("sweep=loss_comparison").hydra.sweeper.params
    assert params["loss"] == "sparse,categorical"


def test_width_lr_sweeps_width_outside_and_learning_rate_inside():
    cfg = _compose_with_hydra("sweep=width_lr")
    assert cfg.tuner.name == "grid"
    assert "search.hidden_units" in cfg.hydra.sweeper.params
    assert len(cfg.search.learning_rate) >= 3


def _compose_with_hydra(*overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.parametrize(
    "override,field",
    [
        ("train.epochs=-1", "train.epochs"),
        ("train.epochs=0", "train.epochs"),
        ("train.batch_size=0", "train.batch_size"),
        ("tuner.max_trials=0", "tuner.max_trials"),
        ("data.limit=-5", "data.limit"),
        ("data.limit=3", "data.limit"),  # leaves no validation image
        ("data.val_fraction=1.5", "data.val_fraction"),
        ("+train.lr=0.1", "train.lr"),
        ("+tuner.typo=1", "tuner.typo"),
        ("loss.name=sparce", "loss"),
        ("search.hidden_units='int(512, 32)'", "search.hidden_units"),
        ("search.learning_rate=0", "search.learning_rate"),
        ("search.learning_rate=-0.1", "search.learning_rate"),
        (
            "search.learning_rate_by_optimizer.sgd='float(0.5, 0.001, sampling=log)'",
            "search.learning_rate_by_optimizer.sgd",
        ),
        ("search.optimizer=[adam,adagradd]", "search.optimizer"),
        ("search.dropout=1.0", "search.dropout"),
        ("tracking.experiment=' '", "tracking.experiment"),
    ],
)
def test_bad_values_name_the_field(override, field):
    cfg = compose(override)
    with pytest.raises(ConfigError) as err:
        config.validate(cfg)
    message = str(err.value)
    assert message.startswith(field), message
    assert "\n" not in message


def test_an_optimizer_without_a_learning_rate_range_is_refused():
    cfg = compose("search.optimizer=[adam,sgd]", "~search.learning_rate_by_optimizer.sgd")
    with pytest.raises(ConfigError, match=r"learning_rate_by_optimizer.sgd"):
        config.validate(cfg)
