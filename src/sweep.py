"""The sweep entry point: `python -m src.sweep [-m] [overrides]`.

Hydra composes the config and launches one job per combination of `-m` values; each job runs
`run_sweep`: validate, load data, open the job's MLflow run, let keras-tuner search with every
trial recorded as a nested run, then record the best trial and its test accuracy.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field

import hydra
from omegaconf import DictConfig, OmegaConf

from src import cli, data, space, state
from src import config as config_module
from src.errors import UserError
from src.tracking import Tracker, check_reachable, git_state

log = logging.getLogger("sweep")

SWEEP_ID_ENV = "SWEEP_ID"
# Settings that say where things go rather than what is searched: left out of run names.
_NAME_EXCLUDED = ("tracking.", "data.dir", "tuner.dir", "train.resume", "sweep=", "hydra.")


def new_sweep_id() -> str:
    """Sortable and readable: the start time plus a random suffix against collisions."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class JobContext:
    """Facts about the Hydra job running a search (none of them part of the config)."""

    overrides: tuple[str, ...] = ()
    sweep_id: str = field(default_factory=lambda: os.environ.get(SWEEP_ID_ENV) or new_sweep_id())

    @property
    def name(self) -> str:
        shown = [o for o in self.overrides if not o.lstrip("+~").startswith(_NAME_EXCLUDED)]
        return ",".join(shown) or "defaults"

    @classmethod
    def from_hydra(cls) -> JobContext:
        from hydra.core.hydra_config import HydraConfig

        return cls(overrides=tuple(HydraConfig.get().overrides.task))


@dataclass(frozen=True)
class JobResult:
    run_id: str
    best_trial_id: str
    best_hyperparameters: dict
    best_val_accuracy: float
    best_val_loss: float
    test_accuracy: float
    test_loss: float
    trials: int
    failed: int


def run_sweep(cfg: DictConfig, context: JobContext | None = None) -> JobResult:
    """Run one job's search end to end. Nothing is written before the config, the tracking
    store and the data have all been checked."""
    import keras

    from src.tuner import SoftmaxHyperModel, TrialTracking, make_tuner

    context = context or JobContext()
    config_module.validate(cfg)
    check_reachable(cfg.tracking.uri)
    dataset = data.load_from_config(cfg.data, cfg.train.seed)
    search_space = space.parse_space(OmegaConf.to_container(cfg.search, resolve=True))

    key = state.search_key(cfg)
    root, project = state.tuner_root(cfg), state.project_name(cfg, key)
    keras.backend.clear_session()  # nothing carried over from a previous job in this process
    tracker = Tracker(cfg.tracking.uri, cfg.tracking.experiment)
    resume_id = None
    if cfg.train.resume and state.has_state(root, project):
        resume_id = tracker.find_job_run(key)
        if resume_id is None:
            log.warning(
                "tuner state in %s has no runs in %s: starting afresh",
                root / project,
                cfg.tracking.uri,
            )
    commit, dirty = git_state(config_module.ROOT)
    tags = {
        "sweep_id": context.sweep_id,
        "overrides": " ".join(context.overrides),
        "search_key": key,
        "git_commit": commit,
        "git_dirty": dirty,
        "mlflow.source.git.commit": commit if commit != "unknown" else None,
        "study": cfg.study.name,
        "study_goal": cfg.study.goal or None,
        "tuner_dir": str(root / project),
        "data_source": dataset.source,
    }
    fixed = fixed_params(cfg)
    params = {
        **fixed,
        "search_space": OmegaConf.to_container(cfg.search, resolve=True),
        "max_trials": cfg.tuner.max_trials,
        "val_fraction": cfg.data.val_fraction,
        "train_images": len(dataset.x_train),
        "val_images": len(dataset.x_val),
    }
    if resume_id is not None:
        tags = {k: v for k, v in tags.items() if k != "sweep_id"}  # keeps its first sweep
        tags["resumed_by_sweep"] = context.sweep_id

    started = time.perf_counter()
    with tracker.job_run(context.name, tags, params, resume_id) as run_id:
        if resume_id is not None:
            killed = tracker.close_orphans(run_id)
            log.info(
                "%s: resuming %s%s",
                context.name,
                root / project,
                f" (interrupted trial(s) {', '.join(killed)} marked KILLED)" if killed else "",
            )
        tracker.log_text(run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        one_hot = cfg.loss.name == "categorical"
        hypermodel = SoftmaxHyperModel(
            search_space,
            cfg.loss.name,
            cfg.train.seed,
            cfg.train.steps_per_execution,
            image_shape=dataset.x_train.shape[1:],
            num_classes=len(dataset.class_names),
        )
        tuner = make_tuner(
            cfg.tuner,
            hypermodel,
            cfg.train.epochs,
            cfg.train.seed,
            root,
            project,
            overwrite=resume_id is None,
            tracking=TrialTracking(tracker, run_id, fixed),
        )
        log.info(
            "%s: searching with %s, %d trials x %d epochs on %d images (%s)",
            context.name,
            cfg.tuner.name,
            cfg.tuner.max_trials,
            cfg.train.epochs,
            len(dataset.x_train),
            dataset.source,
        )
        tuner.search(
            dataset.x_train,
            dataset.labels("train", one_hot),
            validation_data=(dataset.x_val, dataset.labels("val", one_hot)),
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            callbacks=[keras.callbacks.TerminateOnNaN()],
            verbose=0,
        )
        result = record_best(tracker, run_id, tuner, dataset, one_hot)
    log.info(
        "%s: best trial %s val_accuracy %.4f, test_accuracy %.4f (%s); %d trials, "
        "%d failed, %.0f s",
        context.name,
        result.best_trial_id,
        result.best_val_accuracy,
        result.test_accuracy,
        _describe(result.best_hyperparameters),
        result.trials,
        result.failed,
        time.perf_counter() - started,
    )
    return result


def fixed_params(cfg: DictConfig) -> dict:
    """The job's settings every trial shares, logged on every trial run for comparison."""
    return {
        "loss": cfg.loss.name,
        "data": cfg.data.name,
        "data_limit": cfg.data.limit or "all",
        "tuner": cfg.tuner.name,
        "epochs": cfg.train.epochs,
        "batch_size": cfg.train.batch_size,
        "seed": cfg.train.seed,
    }


def record_best(
    tracker: Tracker, run_id: str, tuner, dataset: data.Dataset, one_hot: bool
) -> JobResult:
    """Record on the job's run the best trial by val_accuracy and that model's test metrics.

    The test set is touched here only, after the choice is made.
    """
    trials = list(tuner.oracle.trials.values())
    failed = sum(t.status in ("FAILED", "INVALID") for t in trials)
    best_trials = tuner.oracle.get_best_trials(1)
    if not best_trials:
        raise RuntimeError(
            f"no trial completed ({failed} failed); see the trial runs' 'error' tags in MLflow"
        )
    best = best_trials[0]
    model = tuner.load_model(best)
    test_loss, test_accuracy = model.evaluate(
        dataset.x_test, dataset.labels("test", one_hot), batch_size=1024, verbose=0
    )
    val_loss = best.metrics.get_last_value("val_loss")
    hps = dict(best.hyperparameters.values)
    best_run = next(
        (
            r.info.run_id
            for r in tracker.trial_runs(run_id)
            if r.data.tags.get("trial_id") == best.trial_id and r.info.status == "FINISHED"
        ),
        None,
    )
    tracker.log_metrics(
        run_id,
        {
            "best_val_accuracy": best.score,
            "best_val_loss": val_loss,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
        },
    )
    tracker.set_tags(
        run_id,
        {
            "best_trial_id": best.trial_id,
            "best_trial_run_id": best_run,
            **{f"best.{k}": v for k, v in hps.items()},
        },
    )
    summary = {
        "trial_id": best.trial_id,
        "run_id": best_run,
        "hyperparameters": hps,
        "val_accuracy": best.score,
        "val_loss": val_loss,
        "best_epoch": best.best_step,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
    }
    tracker.log_json(run_id, summary, "best_trial.json")
    return JobResult(
        run_id,
        best.trial_id,
        hps,
        float(best.score),
        float(val_loss),
        float(test_accuracy),
        float(test_loss),
        len(trials),
        failed,
    )


def _describe(hps: dict) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in hps.items()
        if not k.startswith("tuner/")
    )


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    try:
        return run_sweep(cfg, JobContext.from_hydra()).test_accuracy
    except UserError as exc:
        cli.fail(str(exc))  # SystemExit passes Hydra's job runner: one line, nothing more


if __name__ == "__main__":
    # One id for every job of this invocation, inherited by launcher subprocesses.
    os.environ.setdefault(SWEEP_ID_ENV, new_sweep_id())
    cli.run_reporting_user_errors(main)
