"""Every config option and named sweep composes through Hydra and passes validation; bad values
are refused with a message naming the field."""

import itertools

import pytest
from helpers import ROOT, compose
from omegaconf import OmegaConf

from src.errors import ConfigError, UserError
from src.job.preflight import plan

GROUPS = {
    g: sorted(p.stem for p in (ROOT / "conf" / g).glob("*.yaml"))
    for g in ("loss", "model", "data", "tuner", "tracking")
}
SWEEPS = sorted(p.stem for p in (ROOT / "sweeps").glob("*.yaml"))
SINGLE_JOB = {"best_mlp", "cnn"}


def test_groups_have_the_required_options():
    assert GROUPS["loss"] == ["categorical", "sparse"]
    assert set(GROUPS["tuner"]) == {"random", "bayesian", "hyperband", "grid"}
    assert {"fashion_mnist", "mnist"} <= set(GROUPS["data"])
    assert {"loss_comparison", "width_lr", "best_mlp", "cnn"} <= set(SWEEPS)
    assert {"mlp", "cnn"} <= set(GROUPS["model"])


@pytest.mark.parametrize(
    "loss,model,data,tuner,tracking", list(itertools.product(*GROUPS.values()))
)
def test_every_combination_composes_and_validates(loss, model, data, tuner, tracking):
    cfg = compose(
        f"loss={loss}", f"model={model}", f"data={data}", f"tuner={tuner}", f"tracking={tracking}"
    )
    typed = plan(cfg).cfg
    assert typed.loss.name == loss and typed.tuner.name == tuner and typed.data.name == data
    assert typed.model.name == model


def test_defaults_and_required_keys():
    cfg = compose()
    typed = plan(cfg)
    assert cfg.loss.name == "sparse" and cfg.model.name == "mlp"
    assert typed.space.searched() == ["hidden_units", "optimizer", "learning_rate"]
    assert cfg.data.limit is None
    assert cfg.tracking.uri == "sqlite:///mlruns/mlflow.db"
    assert cfg.tracking.experiment == "fashion_mnist"
    for key in (
        "tuner.max_trials",
        "train.epochs",
        "train.seed",
        "search.batch_size",
        "search.hidden_units",
        "search.optimizer",
        "search.learning_rate",
    ):
        assert OmegaConf.select(cfg, key) is not None, key


def test_each_model_family_chooses_tensorflows_kernels_and_the_command_line_wins():
    assert compose().train.onednn is False  # the MLP: TensorFlow's own kernels
    assert compose("model=cnn").train.onednn is True  # convolutions: oneDNN's
    assert compose("train.onednn=true").train.onednn is True


@pytest.mark.parametrize("name", SWEEPS)
def test_named_sweeps_compose_state_their_study_and_sweep(name):
    cfg = compose(f"sweep={name}")
    plan(cfg)
    assert cfg.study.name == name
    assert cfg.study.goal and cfg.study.studied and cfg.study.fixed
    with_hydra = _compose_with_hydra(f"sweep={name}")
    if name in SINGLE_JOB:  # one job, its budget bounded in time
        assert str(with_hydra.hydra.mode) != "RunMode.MULTIRUN" and cfg.tuner.max_minutes
    else:
        assert str(with_hydra.hydra.mode) == "RunMode.MULTIRUN"
        assert with_hydra.hydra.sweeper.params


def test_loss_comparison_sweeps_both_losses_and_repeats_each_with_five_seeds():
    params = _compose_with_hydra("sweep=loss_comparison").hydra.sweeper.params
    assert params["loss"] == "sparse,categorical"
    study = plan(compose("sweep=loss_comparison")).cfg.study
    assert study.repeats == 5 and study.studied == ["loss"]
    assert plan(compose()).cfg.study.repeats == 0  # off unless asked for


def test_width_lr_sweeps_width_outside_and_learning_rate_inside():
    cfg = _compose_with_hydra("sweep=width_lr")
    assert cfg.tuner.name == "grid"
    assert "search.hidden_units" in cfg.hydra.sweeper.params
    assert len(cfg.search.learning_rate.adam) >= 3
    job = compose("sweep=width_lr", "search.hidden_units=64")  # as the sweeper composes a job
    assert plan(job).space.searched() == ["learning_rate"]


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
        ("search.batch_size=0", "search.batch_size"),
        ("tuner.max_trials=0", "tuner.max_trials"),
        ("data.limit=-5", "data.limit"),
        ("data.limit=3", "data.limit"),  # leaves no validation image
        ("data.val_fraction=1.5", "data.val_fraction"),
        ("+train.lr=0.1", "train.lr"),
        ("+tuner.typo=1", "tuner.typo"),
        ("+search.typo=1", "search.typo"),
        ("search.hidden_units='int 512..32'", "search.hidden_units"),
        ("search.learning_rate=0", "search.learning_rate"),
        ("search.learning_rate=-0.1", "search.learning_rate"),
        ("search.learning_rate.sgd='float 0.5..0.001 log'", "search.learning_rate.sgd"),
        # A row for an optimizer this sweep does not choose is checked all the same.
        ("search.learning_rate.rmsprop='float 1e-4..1e-2 lgo'", "search.learning_rate.rmsprop"),
        ("search.optimizer=[adam,adagradd]", "search.optimizer"),
        ("search.dropout=1.0", "search.dropout"),
        ("model._target_=src.model.nothing.Here", "model._target_"),
        ("train.early_stopping_patience=-1", "train.early_stopping_patience"),
        ("study.repeats=-1", "study.repeats"),
        ("study.repeat_seed=-3", "study.repeat_seed"),
        ("tuner.max_minutes=0", "tuner.max_minutes"),
        ("+search.hidden_width=64", "search.hidden_width"),
        ("tracking.experiment=' '", "tracking.experiment"),
    ],
)
def test_bad_values_name_the_field(override, field):
    cfg = compose(override)
    with pytest.raises(UserError) as err:
        plan(cfg)
    message = str(err.value)
    assert message.startswith(field), message
    assert "\n" not in message


@pytest.mark.parametrize(
    "override,field",
    [
        ("loss.name=sparce", "loss.name"),
        ("progress=loud", "progress"),
        ("tuner.name=grd", "tuner"),
        ("model=nonesuch", "model"),
    ],
)
def test_closed_choices_are_enums_refused_when_composed(override, field):
    from src import cli

    with pytest.raises(Exception) as err:
        compose(override)
    assert cli.one_line(err.value).startswith(field)


def test_an_optimizer_without_a_learning_rate_row_is_refused():
    cfg = compose("search.optimizer=[adam,sgd]", "~search.learning_rate.sgd")
    with pytest.raises(ConfigError, match=r"add search.learning_rate.sgd"):
        plan(cfg)


def test_the_typed_config_carries_enums_and_no_dictconfig():
    from src.config.schema import Config, Loss

    typed = plan(compose("loss=categorical")).cfg
    assert isinstance(typed, Config) and typed.loss.name is Loss.categorical
    assert typed.loss.name == "categorical" and isinstance(typed.search, dict)


@pytest.mark.parametrize(
    "overrides,start",
    [
        (["search.hidden_units=int(32,512,step=32)"], "search.hidden_units: Hydra reads int(...)"),
        (["search.hidden_units=int", "32..512"], "a search range has spaces: quote"),
    ],
)
def test_a_range_unquoted_or_in_the_old_syntax_gets_the_fix(overrides, start):
    from src import cli

    with pytest.raises(Exception) as err:
        compose(*overrides)
    assert cli.one_line(err.value).startswith(start)
