"""Typed config schemas (Hydra structured configs). Every default that is not part of a search
space lives here, with the reason for its value; `conf/` holds only what differs per option,
and the search spaces (`conf/`, `sweeps/`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

ROOT = Path(__file__).resolve().parents[2]
SWEEPS_DIR = ROOT / "sweeps"

DATASETS = ("fashion_mnist", "mnist")


# Closed choices are Enums: Hydra refuses any other value when it composes the config.
class Loss(StrEnum):
    sparse = "sparse"  # integer class ids with sparse_categorical_crossentropy
    categorical = "categorical"  # one-hot labels with categorical_crossentropy


class TunerName(StrEnum):
    random = "random"
    bayesian = "bayesian"
    hyperband = "hyperband"
    grid = "grid"


class ProgressMode(StrEnum):
    auto = "auto"  # redrawn in place on a terminal, plain lines otherwise
    live = "live"
    lines = "lines"
    off = "off"


class Role(StrEnum):
    local = "local"  # this process does it all
    chief = "chief"  # serves the oracle to workers
    worker = "worker"  # runs trials the chief hands out


@dataclass
class LossConfig:
    # Same loss, different label format (see Loss).
    name: Loss = MISSING


@dataclass
class DataConfig:
    name: str = MISSING
    # A folder holding the data set's standard files; when set it is the only source used.
    dir: str | None = None
    # Use only the first N training images (before the validation split); None = all of them.
    limit: int | None = None
    # 10% of the training images: 6,000 on the full set, so val_accuracy has a standard error
    # of about 0.4 points, small next to the differences a sweep looks for.
    val_fraction: float = 0.1
    # Where an operating-system package installs the files (Debian: dataset-fashion-mnist).
    system_dir: str | None = None
    # Where to download from when no local copy exists (Keras' own mirror).
    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass
class TrainConfig:
    # 8 epochs: the MLP's validation accuracy is within ~1 point of its plateau by then,
    # and the default budget (2 jobs x 10 trials x 8 epochs) stays near 10 minutes on 2 cores.
    epochs: int = 8
    # One seed for the split, weight init, shuffling and the tuner's sampling: reruns repeat.
    seed: int = 42
    # Continue an interrupted search of the same config; false starts it afresh.
    resume: bool = True
    # Run 32 batches per call into TensorFlow: per-batch Python overhead dominates for a small
    # MLP (measured 2.4 s -> 1.1 s per epoch at batch 32 on 2 cores, identical results).
    steps_per_execution: int = 32
    # Validation (and test) metrics in batches of 1024: the same numbers in 6 calls instead of 188.
    eval_batch_size: int = 1024
    # XLA-compile the training step: 20-30% faster epochs from 256 hidden units up, slower below
    # ~100 (compile time dominates); results differ only by floating-point rounding.
    jit_compile: bool = False
    # TensorFlow's oneDNN kernels (its x86 default): faster convolutions, slower small matrix
    # products (conf/model/mlp.yaml turns them off). Results differ only by rounding.
    onednn: bool = True
    # TensorFlow threads per job (0: all cores). One: the MLP's small matrix products gain
    # nothing from a second (21.0 s vs 24.9 s for 6 epochs at 64/256/512 units, batch 32), and
    # the other core runs a multirun's other job.
    threads: int = 1
    # Stop a trial after this many epochs without a better val_accuracy (0: off); it keeps its best.
    early_stopping_patience: int = 0


@dataclass
class TunerConfig:
    name: TunerName = MISSING
    # Trials per job. 10 random trials find a model within ~1 point of the space's best.
    max_trials: int = 10
    # Tuner state folder; None keeps it beside the SQLite store (<store>/tuner), else ./tuner.
    dir: str | None = None
    # keras-tuner's retry budget for a trial that crashed (not for NaN losses: those fail at once).
    max_retries_per_trial: int = 0
    # Stop the job when this many trials in a row fail: the space or the setup is broken.
    max_consecutive_failed_trials: int = 3
    # A trial whose process died this many times (OOM killer, kill -9, reboot) is recorded
    # FAILED on the next start instead of being run again: a crash loop must end.
    max_crashes_per_trial: int = 3
    # Minutes after which no new trial starts (the running one finishes; None: no limit).
    max_minutes: float | None = None


@dataclass
class BayesianTunerConfig(TunerConfig):
    # Random trials before the Gaussian process takes over; None = keras-tuner's default (3 x dims).
    num_initial_points: int | None = None
    alpha: float = 1e-4
    beta: float = 2.6


@dataclass
class HyperbandTunerConfig(TunerConfig):
    # Keep the best 1/factor of the models at each round of successive halving.
    factor: int = 3
    hyperband_iterations: int = 1


@dataclass
class TrackingConfig:
    # One folder holds the whole store: the SQLite database, artifacts beside it, tuner state.
    uri: str = "sqlite:///mlruns/mlflow.db"
    experiment: str = "${data.name}"
    # false: no MLflow at all (the benchmark's "tracking off" arm; quick local experiments).
    enabled: bool = True
    # Writes by a background thread: training never waits for the store (false: it waits).
    asynchronous: bool = True
    # An unreachable store is retried every second this long; then the job stops, resumable.
    max_outage_seconds: float = 120.0
    # MLflow's system metrics on trial runs, every MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL s.
    system_metrics: bool = False


@dataclass
class StudyConfig:
    """What a sweep is for, in the terms of Google's tuning playbook; recorded on every job run."""

    name: str = "adhoc"
    goal: str = ""
    studied: list[str] = field(default_factory=list)
    nuisance: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    # After the search, each job retrains its best configuration with this many training seeds
    # (0: off), so that a comparison can tell a real difference from seed noise. One search
    # seed gives one number per job; sparse and categorical differed by nothing but that seed.
    repeats: int = 0
    # The repeats' seeds: repeat_seed, +1, ... - the same in every job, so jobs are compared
    # seed by seed; apart from train.seed (the search's, which also carves the validation split).
    repeat_seed: int = 1000


@dataclass
class ModelConfig:
    """A model family: conf/model/<name>.yaml names the dataclass of its searchable arguments."""

    name: str = MISSING
    _target_: str = MISSING


@dataclass
class ExportConfig:
    """`python -m src.export`: which trials compete, and where the winner goes."""

    sweep_id: str | None = None  # only this sweep's trials (its id is a tag on every job run)
    loss: Loss | None = None  # only this loss's trials
    name: str = "${data.name}_softmax"  # the registered model's name
    alias: str = "champion"
    dir: str = "exports/${export.name}"  # .keras, SavedModel and model card
    top: int = 5  # trials in the leaderboard (test accuracy is computed for these, to show)
    # Retrain the winner's hyperparameters on training + validation images for its best epoch
    # count and register that model (src/serving/refit.py); off: the searched model itself.
    refit: bool = False


@dataclass
class DistributedConfig:
    """keras-tuner's distributed mode: a chief serving the oracle, workers running trials.

    One machine: `distributed.workers=N` (the job's process is the chief, N local workers).
    Several: `distributed.role=chief distributed.chief=0.0.0.0:8470` on one host and
    `distributed.role=worker distributed.chief=HOST:8470` on each other, one tracking server.
    """

    workers: int = 0  # local worker processes the chief starts (0: not distributed)
    role: Role = Role.local
    chief: str | None = None  # HOST:PORT the chief listens on / a worker connects to
    tuner_id: str | None = None  # a worker's id (default worker-<hostname>); keep it on restart
    max_worker_restarts: int = 3  # a local worker that dies more often fails the job
    wait_for_chief: int = 600  # seconds a worker waits for the chief's job run to appear
    # The oracle port admits only workers holding the chief's token (src/search/oracle_auth.py):
    # SWEEP_ORACLE_TOKEN, else this file (mode 600). A local chief makes one for its workers.
    token_file: str | None = None
    # TLS, required off loopback: the chief's certificate (PEM; a worker trusts it) and key.
    tls_cert: str | None = None
    tls_key: str | None = None  # the chief's only


@dataclass
class Config:
    loss: LossConfig = MISSING
    model: ModelConfig = MISSING
    data: DataConfig = MISSING
    tuner: TunerConfig = MISSING
    tracking: TrackingConfig = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    # The search space: argument name -> value, list, range or table (src/search/space.py).
    search: dict[str, Any] = field(default_factory=dict)
    study: StudyConfig = field(default_factory=StudyConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    # Live progress: auto (in place on a terminal, plain lines otherwise), live, lines, off.
    progress: ProgressMode = ProgressMode.auto


def register_configs() -> None:
    """Register the schemas, and the named sweeps of `sweeps/` as the `sweep` group."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    # Each option's YAML names its schema first (`- /schema/tuner/hyperband@_here_`); a separate
    # `schema` group keeps them out of the options a user chooses from.
    cs.store(group="schema/loss", name="loss", node=LossConfig)
    cs.store(group="schema/model", name="model", node=ModelConfig)
    cs.store(group="schema/data", name="data", node=DataConfig)
    cs.store(group="schema/tracking", name="tracking", node=TrackingConfig)
    for name, node in (
        ("random", TunerConfig),
        ("grid", TunerConfig),
        ("bayesian", BayesianTunerConfig),
        ("hyperband", HyperbandTunerConfig),
    ):
        cs.store(group="schema/tuner", name=name, node=node)
    # sweeps/ sits at the top of the repository so users find it; registering its files here
    # lets them be selected as `sweep=<name>` like any config group.
    for path in sorted(SWEEPS_DIR.glob("*.yaml")):
        cs.store(group="sweep", name=path.stem, node=OmegaConf.load(path), package="_global_")


register_configs()
