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

from src.config.train import TrainConfig
from src.config.tuner import (
    BayesianTunerConfig,
    HyperbandTunerConfig,
    TunerConfig,
)

ROOT = Path(__file__).resolve().parents[2]
SWEEPS_DIR = ROOT / "sweeps"

DATASETS = ("fashion_mnist", "mnist")


# Closed choices are Enums: Hydra refuses any other value when it composes the config.
class Loss(StrEnum):
    sparse = "sparse"  # integer class ids with sparse_categorical_crossentropy
    categorical = "categorical"  # one-hot labels with categorical_crossentropy


class ProgressMode(StrEnum):
    auto = "auto"  # redrawn in place on a terminal, plain lines otherwise
    live = "live"
    lines = "lines"
    off = "off"


class Role(StrEnum):
    local = "local"  # this process does it all
    chief = "chief"  # serves the oracle to workers
    worker = "worker"  # runs trials the chief hands out


class Launcher(StrEnum):
    """Who starts a chief's workers (src/search/chief.py)."""

    local = "local"  # processes on this machine
    submitit_local = "submitit_local"  # submitit's local executor: jobs on this machine
    submitit_slurm = "submitit_slurm"  # one SLURM job array, submitted with submitit


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
class TrackingConfig:
    # One folder holds the whole store: the SQLite database, artifacts beside it, tuner state.
    uri: str = "sqlite:///mlruns/mlflow.db"
    experiment: str = "${data.name}"
    # false: no MLflow at all (the benchmark's "tracking off" arm; quick local experiments).
    enabled: bool = True
    # Writes by a background thread: training never waits for the store (false: it waits).
    asynchronous: bool = True
    # Training goes on while the store is away; its records wait, on disk (spill_dir). The
    # job's end waits this long for an unreachable store; then it stops, resumable.
    max_outage_seconds: float = 120.0
    # Where records wait while the store is away (null: spill/ beside a SQLite store's
    # database, else ./tracking-spill/<the server's address, hashed>).
    spill_dir: str | None = None
    # Each trial run's own learning-curves picture (MLflow's UI charts its metrics anyway; the
    # job's run gets every trial's curves on one picture).
    trial_plots: bool = False
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
    # Constraints the champion must meet (None: none): the best val_accuracy among the trials
    # whose model classifies one image within this many ms / holds at most this many weights.
    max_latency_ms: float | None = None
    max_parameters: int | None = None


@dataclass
class SlurmConfig:
    """What each submitit worker job asks for, named as Hydra's submitit launcher names them."""

    partition: str | None = None
    timeout_min: int = 60  # a worker still running then is stopped and resubmitted
    cpus_per_task: int | None = None  # also the worker's TensorFlow threads (else train.threads)
    mem_gb: int | None = None
    gpus_per_node: int = 0
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    # Shell lines run before each worker, e.g. ["module load cuda", "source .venv/bin/activate"].
    setup: list[str] = field(default_factory=list)
    additional_parameters: dict[str, Any] = field(default_factory=dict)  # other #SBATCH options
    # The jobs' pickles and logs; on SLURM a folder every node sees. Default: the job's
    # output folder's workers/submitit.
    submitit_folder: str | None = None


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
    # One trial per GPU: the local workers' devices, a list of ids ([0,1]) or "all" (every GPU
    # the machine has); worker i sees the i-th alone (CUDA_VISIBLE_DEVICES). The workers are
    # as many as the GPUs unless distributed.workers says fewer (src/search/gpus.py).
    gpus: Any = None
    # Who starts the chief's workers: local processes, or submitit jobs (one SLURM job array with
    # submitit_slurm; its local executor with submitit_local). submitit_slurm needs the chief's
    # address the nodes reach (distributed.chief), a token file and TLS (docs/slurm.md).
    launcher: Launcher = Launcher.local
    # A submitit worker whose chief has been out of reach this long (s) stops (its trial KILLED).
    chief_timeout: int = 60
    slurm: SlurmConfig = field(default_factory=SlurmConfig)


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
