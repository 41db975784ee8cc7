"""The sweep entry point: `python -m src.sweep [-m] [overrides]`.

Hydra composes the config and launches one job per combination of `-m` values. Before the first
job starts, `preflight` checks every job's config, tracking store and data. Each job runs
`run_sweep`: lock its search, load or start keras-tuner's state, open (or reopen) the job's
MLflow run, let keras-tuner search with every trial recorded as a nested run, then record the
best trial and its test accuracy.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from src import (
    cli,
    data,
    distributed,
    preflight,
    progress,
    report,
    runtime,
    signals,
    space,
    state,
)
from src.config import ROOT
from src.errors import Interrupted, JobFailed
from src.tracking import NullTracker, Tracker, git_state

if TYPE_CHECKING:  # TensorFlow loads only once a job runs: refusing bad input stays fast
    from src.results import JobResult

log = logging.getLogger("sweep")

SWEEP_ID_ENV = "SWEEP_ID"
# The entry process's pid: a job running in another process is in a launcher's worker.
_PARENT_PID_ENV = "SWEEP_PARENT_PID"
# Settings that say where things go rather than what is searched: left out of run names.
_NAME_EXCLUDED = (
    "tracking.",
    "distributed.",
    "data.dir",
    "tuner.dir",
    "train.resume",
    "sweep=",
    "hydra.",
    "progress=",
)


def new_sweep_id() -> str:
    """Sortable and readable: the start time plus a random suffix against collisions."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class JobContext:
    """Facts about the Hydra job running a search (none of them part of the config)."""

    overrides: tuple[str, ...] = ()
    sweep_id: str = field(default_factory=lambda: os.environ.get(SWEEP_ID_ENV) or new_sweep_id())
    # Hydra's output folder for the job: its log, and its progress file for the display.
    output_dir: str | None = None

    @property
    def name(self) -> str:
        shown = [o for o in self.overrides if not o.lstrip("+~").startswith(_NAME_EXCLUDED)]
        return ",".join(shown) or "defaults"

    @classmethod
    def from_hydra(cls) -> JobContext:
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
        return cls(
            overrides=tuple(hydra_cfg.overrides.task), output_dir=hydra_cfg.runtime.output_dir
        )


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


def run_sweep(cfg: DictConfig, context: JobContext | None = None) -> JobResult:
    """Run one job's search end to end. Nothing is written before the config, the tracking
    store and the data have all been checked."""
    context = context or JobContext()
    preflight.check(cfg)
    runtime.import_tensorflow()  # after the checks: bad input is refused without loading it
    runtime.set_threads(cfg.train.threads)

    from src.progress import JobProgress
    from src.results import record_best
    from src.tuner import TrialTracking, make_tuner

    job = _prepare(cfg)
    if distributed.is_worker(cfg):
        _run_worker(cfg, job)
        return None
    dataset, tracker, key, root, project = job.dataset, job.tracker, job.key, job.root, job.project
    tracking = cfg.tracking.enabled
    started = time.perf_counter()

    with state.search_lock(root, project):
        resuming = cfg.train.resume and state.has_state(root, project)
        resume_id = tracker.find_job_run(key) if resuming and tracking else None
        if resuming and tracking and resume_id is None:
            log.warning(
                "tuner state in %s has no runs in %s: starting afresh",
                root / project,
                cfg.tracking.uri,
            )
            resuming = False
        # Loading the state first: unreadable state stops here, before any run is touched.
        tuner = make_tuner(
            cfg.tuner,
            job.hypermodel,
            cfg.train.epochs,
            cfg.train.seed,
            root,
            project,
            overwrite=not resuming,
            tracking=None,
        )
        tags = _job_tags(cfg, context, key, root / project, dataset.source, resume_id)
        params = {
            **fixed_params(cfg),
            "search_space": OmegaConf.to_container(cfg.search),
            "max_trials": cfg.tuner.max_trials,
            "val_fraction": cfg.data.val_fraction,
            "train_images": len(dataset.x_train),
            "val_images": len(dataset.x_val),
        }
        with tracker.job_run(context.name, tags, params, resume_id) as run_id:
            attempts = {}
            if resume_id is not None:
                killed = tracker.close_orphans(run_id)
                attempts = tracker.attempts_by_trial(run_id)
                cut_short = f"; trial(s) {', '.join(killed)} were cut short and run again"
                log.info(
                    "%s: resuming %s%s", context.name, root / project, cut_short if killed else ""
                )
            tracker.log_text(run_id, OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
            if tracking:
                tuner.tracking = TrialTracking(
                    tracker, run_id, fixed_params(cfg), attempts, cfg.tuner.max_crashes_per_trial
                )
            _recorded_epoch_seconds(tuner, attempts)  # of trials done before
            if context.output_dir is not None:
                done = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
                tuner.progress = JobProgress(
                    context.output_dir, context.name, cfg.tuner.max_trials, cfg.train.epochs, done
                )
            log.info(
                "%s: searching with %s, %d trials x %d epochs on %d images (%s)%s",
                context.name,
                cfg.tuner.name,
                cfg.tuner.max_trials,
                cfg.train.epochs,
                len(dataset.x_train),
                dataset.source,
                "" if tracking else ", untracked",
            )
            if distributed.is_chief(cfg):
                distributed.run_chief(tuner, cfg, tracker, run_id, context, tuner.progress)
                # The workers timed the epochs; their trial runs hold the figures.
                _recorded_epoch_seconds(tuner, tracker.attempts_by_trial(run_id))
            else:
                _search(tuner, cfg, dataset)
            result = record_best(
                tracker, run_id, tuner, dataset, cfg, context.name, space.searched(job.search_space)
            )
            if tuner.progress is not None:
                tuner.progress.finished()

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
    for trial_id, reason in result.failures:
        log.info("%s: trial %s failed: %s", context.name, trial_id, reason)
    return result


def _recorded_epoch_seconds(tuner, attempts: dict[str, list]) -> None:
    """Fill the tuner's seconds per epoch from the latest recorded run of each trial."""
    for trial_id, runs in attempts.items():
        seconds = runs[-1].data.metrics.get("mean_epoch_time") if runs else None
        if seconds is not None:
            tuner.epoch_seconds[trial_id] = seconds


@dataclass
class PreparedJob:
    """What a job's chief and its workers set up alike."""

    dataset: data.Dataset
    search_space: space.Space
    key: str
    root: Path
    project: str
    tracker: Tracker | NullTracker
    hypermodel: object


def _prepare(cfg: DictConfig) -> PreparedJob:
    import keras

    from src.tuner import SoftmaxHyperModel

    dataset = data.load_from_config(cfg.data, cfg.train.seed)
    search_space = space.parse_space(OmegaConf.to_container(cfg.search, resolve=True))
    key = state.search_key(cfg)
    keras.backend.clear_session()  # nothing carried over from a previous job in this process
    state.install_safe_state_io()
    tracker = (
        Tracker(cfg.tracking.uri, cfg.tracking.experiment)
        if cfg.tracking.enabled
        else NullTracker()
    )
    hypermodel = SoftmaxHyperModel(
        search_space,
        cfg.loss.name,
        cfg.train.seed,
        cfg.train.steps_per_execution,
        cfg.train.jit_compile,
        image_shape=dataset.x_train.shape[1:],
        num_classes=len(dataset.class_names),
    )
    root, project = state.tuner_root(cfg), state.project_name(cfg, key)
    return PreparedJob(dataset, search_space, key, root, project, tracker, hypermodel)


def _run_worker(cfg: DictConfig, job: PreparedJob) -> None:
    """A distributed worker: trials from the chief's oracle, recorded under the chief's job run."""
    from src.tuner import TrialTracking, make_tuner

    tuner_id = distributed.connect_worker(cfg)
    parent = distributed.job_run_of(job.tracker, job.key, cfg.distributed.wait_for_chief)
    if parent is not None:
        # Runs this tuner id left RUNNING were a previous life of this worker's.
        killed = job.tracker.close_orphans(parent, tuner_id=tuner_id)
        if killed:
            log.info("%s: trial(s) %s were cut short and run again", tuner_id, ", ".join(killed))
    distributed.watch_chief()
    # overwrite=False: the folder is the chief's (on one machine) and must not be wiped.
    tuner = make_tuner(
        cfg.tuner,
        job.hypermodel,
        cfg.train.epochs,
        cfg.train.seed,
        job.root,
        job.project,
        overwrite=False,
        tracking=None,
    )
    if parent is not None:
        tuner.tracking = TrialTracking(
            job.tracker,
            parent,
            fixed_params(cfg),
            max_crashes=cfg.tuner.max_crashes_per_trial,
            tags={"tuner_id": tuner_id, "host": socket.gethostname()},
            live_attempts=True,
        )
    log.info("%s: asking %s for trials", tuner_id, cfg.distributed.chief)
    _search(tuner, cfg, job.dataset)
    log.info("%s: the chief has no more trials", tuner_id)


def _search(tuner, cfg: DictConfig, dataset: data.Dataset) -> None:
    import keras

    one_hot = cfg.loss.name == "categorical"
    # keras-tuner and Keras call gc.collect() several times per trial to free the last model;
    # each call walked every object TensorFlow, MLflow and the data had created (0.4 s each,
    # ~1.6 s per trial). Freezing what exists now leaves the collector only the trials' objects.
    gc.collect()  # what earlier jobs of this process left is freed, not frozen
    gc.freeze()
    try:
        tuner.search(
            dataset.x_train,
            dataset.labels("train", one_hot),
            validation_data=(dataset.x_val, dataset.labels("val", one_hot)),
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            validation_batch_size=cfg.train.eval_batch_size,
            callbacks=[keras.callbacks.TerminateOnNaN()],
            verbose=0,
        )
    except KeyboardInterrupt:
        tuner.save()  # the trial in progress stays queued: the next start runs it again
        raise
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc):
            raise
        last = [line for line in str(exc).splitlines() if line.strip()][-1].strip()
        last = re.sub(r"^[\w.]+\.(\w+: )", r"\1", last)  # drop the exception's module path
        raise JobFailed(
            f"stopped after {cfg.tuner.max_consecutive_failed_trials} trials failed in a row "
            f"(last: {last}); check the search space"
        ) from None


def _job_tags(
    cfg, context: JobContext, key: str, tuner_dir: Path, source: str, resume_id: str | None
) -> dict:
    commit, dirty = git_state(ROOT)
    tags = {
        "overrides": " ".join(context.overrides),
        "search_key": key,
        "git_commit": commit,
        "git_dirty": dirty,
        "mlflow.source.git.commit": None if commit == "unknown" else commit,
        "study": cfg.study.name,
        "study_goal": cfg.study.goal or None,
        "tuner_dir": str(tuner_dir),
        "data_source": source,
    }
    if resume_id is None:
        tags["sweep_id"] = context.sweep_id
    else:  # a resumed job keeps the sweep it started in
        tags["resumed_by_sweep"] = context.sweep_id
    return tags


def _describe(hps: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in hps.items())


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    signals.install()  # again here: in a joblib worker, this is the process that trains
    hydra_cfg = HydraConfig.get()
    context = JobContext.from_hydra()
    output_dir = hydra_cfg.runtime.output_dir
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    in_worker = os.environ.get(_PARENT_PID_ENV) != str(os.getpid())
    if multirun and report.sweep_interrupted(hydra_cfg.sweep.dir):
        report.write_status(output_dir, context.name, "KILLED", error="not started: interrupted")
        return None
    if distributed.is_worker(cfg):  # no job of its own: trials for a chief's job
        try:
            run_sweep(cfg, context)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            message = cli.one_line(exc)
            if message is None:
                raise
            cli.fail(message, cli.exit_code(exc))
        return None
    if not multirun:  # a single run: this process is the entry process, with the terminal
        report.start_run(output_dir)
        progress.start(cfg.progress).watch(output_dir)
    if progress.is_live(cfg.progress):
        _console_warnings_only()  # the live display shows progress; the job's log keeps all
    try:
        result = run_sweep(cfg, context)
    except KeyboardInterrupt:
        report.write_status(output_dir, context.name, "KILLED", error="interrupted")
        if in_worker:
            return None  # the parent knows; raising would only make joblib kill the others
        raise
    except Exception as exc:
        message = cli.one_line(exc)
        report.write_status(
            output_dir, context.name, "FAILED", error=message or f"{exc.__class__.__name__}: {exc}"
        )
        if not multirun:
            if message is None:
                raise  # a bug: keep the traceback
            cli.fail(message, cli.exit_code(exc))  # SystemExit: Hydra adds no lines of its own
        # A multirun goes on with its other jobs; the closing summary lists every failure.
        if message is None:
            log.exception("%s failed", context.name)
        else:
            log.error("%s failed: %s", context.name, message)
        return None
    report.write_status(
        output_dir,
        context.name,
        "FINISHED",
        result=result,
        tracking_uri=cfg.tracking.uri if cfg.tracking.enabled else None,
    )
    return result.test_accuracy


def _console_warnings_only() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)


def cli_main() -> None:
    # One id for every job of this invocation, inherited by launcher subprocesses.
    os.environ.setdefault(SWEEP_ID_ENV, new_sweep_id())
    os.environ[_PARENT_PID_ENV] = str(os.getpid())
    signals.install()
    try:
        cli.run_reporting_user_errors(main)
    except KeyboardInterrupt as exc:
        _stopped(signal.SIGTERM if isinstance(exc, Interrupted) else signal.SIGINT)
    if signals.received():  # a multirun whose workers stopped on the signal
        _stopped(signals.received())
    progress.display().stop()
    if report.finish():
        sys.exit(1)


def _stopped(signum: int) -> None:
    progress.display().stop()
    report.finish()
    print(
        "interrupted: the trials in progress were marked KILLED; run the same command again "
        "to resume",
        file=sys.stderr,
    )
    sys.exit(signals.exit_code(signum))


if __name__ == "__main__":
    cli_main()
