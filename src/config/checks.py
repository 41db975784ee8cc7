"""The one start-up validation step: what types cannot express, checked before anything is written."""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass

from omegaconf import DictConfig, OmegaConf

from src.config.omegaconf_private import child_node
from src.config.schema import DATASETS, SlurmConfig
from src.errors import ConfigError


def _fail(field_name: str, problem: str) -> None:
    raise ConfigError(f"{field_name}: {problem}")


def _check_positive_int(cfg: DictConfig, key: str, allow_none: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        _fail(key, f"got {value!r}; use a whole number >= 1")


def _check_known_keys(node: DictConfig, prefix: str) -> None:
    """Refuse keys the schema does not declare: Hydra's `+key=value` adds them even to a
    typed config, and a misspelt setting silently doing nothing costs a whole sweep."""
    schema = OmegaConf.get_type(node)
    if not (isinstance(schema, type) and is_dataclass(schema)):
        return
    known = {f.name for f in fields(schema)}
    for key in node:
        if prefix == "" and key == "hydra":  # present when composed with Hydra's own settings
            continue
        if key not in known:
            _fail(
                f"{prefix}{key}",
                f"unknown setting; {prefix.rstrip('.') or 'the config'} "
                f"takes {', '.join(sorted(known))}",
            )
        child = child_node(node, key)
        if isinstance(child, DictConfig):
            _check_known_keys(child, f"{prefix}{key}.")


def validate(cfg: DictConfig) -> None:
    """Check what types cannot express. Raises ConfigError naming the field and the fix.

    Runs before anything is written: no tracking run, no tuner state.
    """
    _check_known_keys(cfg, "")
    if cfg.data.name not in DATASETS:
        _fail("data", f"got {cfg.data.name!r}; choose one of {', '.join(DATASETS)}")
    for key in (
        "train.epochs",
        "train.steps_per_execution",
        "train.eval_batch_size",
        "tuner.max_trials",
        "tuner.max_consecutive_failed_trials",
        "tuner.max_crashes_per_trial",
    ):
        _check_positive_int(cfg, key)
    _check_positive_int(cfg, "data.limit", allow_none=True)
    _check_positive_int(cfg, "export.top")
    _check_positive_int(cfg, "export.max_parameters", allow_none=True)
    latency = cfg.export.max_latency_ms
    if latency is not None and not (math.isfinite(latency) and latency > 0):
        _fail("export.max_latency_ms", f"got {latency}; use milliseconds > 0, or null for none")
    _check_distributed(cfg.distributed)
    _check_launcher(cfg)
    _check_pruner(cfg.tuner)
    _check_warm_start(cfg)
    if cfg.train.threads < 0:
        _fail("train.threads", f"got {cfg.train.threads}; use 0 (all cores) or a count >= 1")
    if cfg.train.early_stopping_patience < 0:
        _fail("train.early_stopping_patience", "must be >= 0 (0: off)")
    if cfg.study.repeats < 0:
        _fail("study.repeats", f"got {cfg.study.repeats}; use 0 (off) or a count of seeds >= 1")
    if cfg.study.repeat_seed < 0:
        _fail("study.repeat_seed", f"got {cfg.study.repeat_seed}; use a seed >= 0")
    budget = cfg.tuner.max_minutes
    if budget is not None and not budget > 0:
        _fail("tuner.max_minutes", f"got {budget}; use minutes > 0, or null for no limit")
    if cfg.tuner.max_retries_per_trial < 0:
        _fail("tuner.max_retries_per_trial", "must be >= 0")
    frac = cfg.data.val_fraction
    if not (isinstance(frac, float) and math.isfinite(frac) and 0.0 < frac < 1.0):
        _fail("data.val_fraction", f"got {frac!r}; use a fraction strictly between 0 and 1")
    if cfg.data.limit is not None and round(cfg.data.limit * frac) < 1:
        _fail(
            "data.limit",
            f"{cfg.data.limit} images leave no validation image at "
            f"data.val_fraction={frac}; raise data.limit",
        )
    if cfg.tuner.name == "hyperband" and cfg.tuner.factor < 2:
        _fail("tuner.factor", f"got {cfg.tuner.factor}; use an integer >= 2")
    if not str(cfg.tracking.uri).strip():
        _fail("tracking.uri", "is empty; use sqlite:///path/mlflow.db or http://host:port")
    if not str(cfg.tracking.experiment).strip():
        _fail("tracking.experiment", "is empty; give the MLflow experiment a name")
    if not cfg.tracking.max_outage_seconds > 0:
        _fail("tracking.max_outage_seconds", "must be > 0 seconds (default 120)")


def _check_warm_start(cfg: DictConfig) -> None:
    warm = cfg.tuner.warm_start
    if warm is None:
        return
    if not str(warm).strip():
        _fail("tuner.warm_start", "is empty; name a sweep by id, latest or latest~N, or null")
    if not cfg.tracking.enabled:
        _fail("tuner.warm_start", "reads the earlier sweep from the store; enable tracking")
    if cfg.tuner.name == "hyperband":
        _fail(
            "tuner.warm_start",
            "hyperband sizes each trial by its brackets; use tuner=random, bayesian or grid",
        )
    if cfg.tuner.name == "grid" and (
        cfg.distributed.workers > 0 or cfg.distributed.role != "local"
    ):
        _fail("tuner.warm_start", "with tuner=grid is not supported with distributed workers")


def _check_pruner(t: DictConfig) -> None:
    if t.pruner == "none":
        return
    if t.name == "hyperband":
        _fail("tuner.pruner", "hyperband stops trials by its own brackets; use tuner.pruner=none")
    for key, least in (("pruner_warmup", 1), ("pruner_min_trials", 1), ("pruner_reduction", 2)):
        if t[key] < least:
            _fail(f"tuner.{key}", f"got {t[key]}; use a whole number >= {least}")


def _check_distributed(d: DictConfig) -> None:
    if d.workers < 0:
        _fail("distributed.workers", f"got {d.workers}; use 0 (not distributed) or a count >= 1")
    if d.max_worker_restarts < 0 or d.wait_for_chief < 0:
        key = "max_worker_restarts" if d.max_worker_restarts < 0 else "wait_for_chief"
        _fail(f"distributed.{key}", "must be >= 0")
    if d.role == "worker" and d.gpus is not None:
        _fail(
            "distributed.gpus",
            "is the chief's setting for its local workers; a worker started by hand gets its "
            "GPU from CUDA_VISIBLE_DEVICES",
        )
    if d.role in ("chief", "worker") and d.chief is None:
        _fail(
            "distributed.chief",
            f"distributed.role={d.role} needs the chief's HOST:PORT, "
            "e.g. distributed.chief=10.0.0.5:8470",
        )


# The sbatch options the sweep and submitit set themselves (src/search/submitit_workers.py).
_SBATCH_OWN = frozenset(
    [
        "array",
        "output",
        "error",
        "open_mode",
        "signal",
        "job_name",
        "time",
        "export",
        "requeue",
        "no_requeue",
        "wrap",
        "chdir",
        "partition",
        "cpus_per_task",
        "mem",
        "gpus_per_node",
        "nodes",
        "ntasks_per_node",
        "account",
        "qos",
        "constraint",
    ]
)


def _check_launcher(cfg: DictConfig) -> None:
    d = cfg.distributed
    if d.launcher == "local":
        if d.slurm != OmegaConf.structured(SlurmConfig):
            _fail("distributed.slurm", "is read by distributed.launcher=submitit_slurm only")
        return
    name = f"distributed.launcher={d.launcher}"
    if d.role == "worker":
        _fail("distributed.launcher", "is the chief's setting; a worker leaves it at local")
    if d.gpus is not None:
        _fail(
            "distributed.gpus",
            f"is for local workers; with {name} use distributed.slurm.gpus_per_node",
        )
    if d.workers < 1:
        _fail("distributed.workers", f"{name} needs the workers to submit, a count >= 1")
    s = d.slurm
    for key in ("timeout_min", "cpus_per_task", "mem_gb"):
        if s[key] is not None and s[key] < 1:
            _fail(f"distributed.slurm.{key}", f"got {s[key]}; use a whole number >= 1")
    for key in s.additional_parameters:
        if str(key).replace("-", "_") in _SBATCH_OWN:
            _fail(
                "distributed.slurm.additional_parameters",
                f"{key} is set by the sweep (its job array, logs, signals, time limit, "
                "requeueing and environment); use distributed.slurm.* or remove it",
            )
    if d.chief_timeout < 1:
        _fail("distributed.chief_timeout", f"got {d.chief_timeout}; use seconds >= 1")
    if s.gpus_per_node < 0:
        _fail("distributed.slurm.gpus_per_node", f"got {s.gpus_per_node}; use 0 or more")
    if d.launcher != "submitit_slurm":
        return
    if d.chief is None:
        _fail(
            "distributed.chief",
            f"{name} needs the chief's address the nodes reach, "
            "e.g. distributed.chief=login1.cluster:8470",
        )
    if not cfg.tracking.enabled or not str(cfg.tracking.uri).startswith(("http://", "https://")):
        _fail(
            "tracking.uri",
            f"{name}: workers on other nodes record to a tracking server; "
            "use tracking=server tracking.uri=https://HOST:PORT",
        )
