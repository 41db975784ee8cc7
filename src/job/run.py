"""One job's search end to end: check, prepare, lock, open the job's run, search, record, and
retrain the best configuration with the study's seeds (study.repeats).

Nothing is written before the config, the tracking store and the data have all been checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

import src.runtime as runtime
from src import data
from src.config import ROOT
from src.config.schema import Config
from src.job import preflight
from src.job.context import JobContext, fixed_params
from src.job.preflight import Plan
from src.job.prepare import PreparedJob, open_tracker, prepare, search
from src.job.start import earlier_sweep, load_tuner
from src.job.worker import run_worker
from src.runtime import timings
from src.search import chief, distributed, kt_private, state
from src.tracking import Recorder, dataset_inputs, git_state, log_dataset

if TYPE_CHECKING:  # TensorFlow loads only once a job runs: refusing bad input stays fast
    from src.reporting.outcome import JobResult

# Imported inside functions: the job's recording, repeats and keras-tuner's side load after the
# checks and TensorFlow's import, so bad input is refused before either.


log = logging.getLogger("sweep")


def run_job(cfg: DictConfig, context: JobContext | None = None) -> JobResult:
    """Run one job's search end to end. Nothing is written before the config, the tracking
    store and the data have all been checked."""
    context = context or JobContext()
    timings.begin_job()
    plan = preflight.check(cfg)
    timings.mark("checked")
    tracker = open_tracker(plan.cfg)  # MLflow's import and the store: in another process
    try:
        return _run_job(plan, context, tracker)
    finally:
        tracker.close()


def _run_job(plan: Plan, context: JobContext, tracker: Recorder) -> JobResult | None:
    cfg = plan.cfg  # typed from here on
    reading = _read_data_meanwhile(cfg)
    runtime.import_tensorflow(cfg.train.onednn)  # after the checks: bad input never loads it
    runtime.set_threads(cfg.train.threads)
    runtime.import_keras_tuner(bayesian=cfg.tuner.name == "bayesian")
    timings.mark("tensorflow_imported")
    reading.join()
    timings.mark("data_read")
    from src.job.best import record_best
    from src.search.trials import recorded_figures

    job = prepare(plan, tracker)
    if distributed.is_worker(cfg.distributed):
        run_worker(cfg, job)
        return None
    started = time.perf_counter()
    timings.mark("prepared")
    earlier = earlier_sweep(cfg, job, context.sweep_id)  # tuner.warm_start
    tracking, progress = _collaborators(cfg, job, context)
    with state.search_lock(job.root, job.project):
        tuner, resume_id = load_tuner(cfg, job, earlier, tracking=tracking, progress=progress)
        timings.mark("tuner_ready")
        tags = _job_tags(
            cfg, context, job.key, job.root / job.project, job.dataset.source, resume_id
        )
        params = _job_params(plan, job)
        with job.tracker.job_run(context.name, tags, params, resume_id) as run_id:
            _attach(tuner, cfg, job, run_id, resume_id, context)
            if distributed.is_chief(cfg.distributed):
                workers = chief.run_chief(tuner, cfg, job.tracker, run_id, context, progress)
                # The workers timed the epochs; their trial runs hold the figures.
                recorded_figures(tuner, job.tracker.attempts_by_trial(run_id))
            else:
                workers = []
                search(tuner, cfg, job.dataset)
            timings.mark("searched")
            result = record_best(
                job.tracker, run_id, tuner, job.dataset, cfg, context.name, plan.space, workers
            )
            timings.mark("recorded")
            if cfg.study.repeats > 0:
                result = _repeat(job, plan, run_id, result, context.name, progress)
            if progress is not None:
                progress.finished()
    _log_result(context.name, result, time.perf_counter() - started)
    timings.mark("ended")
    timings.write(context.output_dir)
    return result


def _read_data_meanwhile(cfg: Config) -> threading.Thread:
    """Read the data set's files in a thread while TensorFlow is imported (decompressing
    releases the GIL). An error is left for `prepare` to raise (it reads again, from cache)."""

    def read() -> None:
        with contextlib.suppress(Exception):
            data.load_raw(cfg.data.name, cfg.data.dir, cfg.data.system_dir, cfg.data.url)

    thread = threading.Thread(target=read, name="read-data", daemon=True)
    thread.start()
    return thread


def _repeat(job: PreparedJob, plan: Plan, run_id, result: JobResult, name: str, progress):
    """The best configuration retrained with each of study.repeats seeds, recorded."""
    from src.job.records import log_repeats
    from src.job.repeats import run_repeats

    repeats = run_repeats(job, plan, run_id, result, name, progress)
    log_repeats(job.tracker, run_id, repeats)
    return dataclasses.replace(result, repeats=repeats)


def _job_params(plan: Plan, job: PreparedJob) -> dict:
    cfg = plan.cfg
    return {
        **fixed_params(cfg),
        "search_space": cfg.search,
        "arguments": list(plan.space.arguments),
        "searched": plan.space.searched(),
        "max_trials": cfg.tuner.max_trials,
        "val_fraction": cfg.data.val_fraction,
        "train_images": len(job.dataset.x_train),
        "val_images": len(job.dataset.x_val),
    }


def _collaborators(cfg: Config, job: PreparedJob, context: JobContext) -> tuple:
    """What the tuner records its trials with, made before it loads its state: the trials'
    tracking (bound to the job's run once that is open) and the job's progress file."""
    from src.search.progress import JobProgress
    from src.search.trials import TrialTracking

    tracking = progress = None
    if cfg.tracking.enabled:
        tracking = TrialTracking(
            job.tracker,
            None,
            fixed_params(cfg),
            max_crashes=cfg.tuner.max_crashes_per_trial,
            inputs=dataset_inputs(job.dataset)[:2],  # a trial trains and validates; no test
            system_metrics=cfg.tracking.system_metrics,
            trial_plots=cfg.tracking.trial_plots,
        )
    if context.output_dir is not None:
        progress = JobProgress(
            context.output_dir, context.name, cfg.tuner.max_trials, cfg.train.epochs
        )
        job.tracker.on_waiting = progress.store_waiting  # told by it during an outage
    return tracking, progress


def _attach(tuner, cfg: Config, job: PreparedJob, run_id, resume_id, context: JobContext) -> None:
    """Bind the tuner's tracking to the job run and earlier attempts; count the trials done."""
    from src.search.trials import recorded_figures

    tracker, attempts = job.tracker, {}
    if resume_id is not None:
        killed = tracker.close_orphans(run_id)
        attempts = tracker.attempts_by_trial(run_id)
        cut_short = (
            f"; trial(s) {', '.join(killed)} were cut short: {state.CONTINUED}" if killed else ""
        )
        log.info("%s: resuming %s%s", context.name, job.root / job.project, cut_short)
    tracker.log_text(run_id, OmegaConf.to_yaml(cfg), "config.yaml")
    if tuner.warm is not None:
        tracker.set_tags(run_id, {"warm_start_sweep": tuner.warm.sweep_id})
    if tuner.tracking is not None:
        log_dataset(tracker, run_id, dataset_inputs(job.dataset))  # MLflow's Datasets
        tuner.tracking.bind(run_id, attempts)
    recorded_figures(tuner, attempts)  # of trials done before
    if tuner.progress is not None:
        done = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
        plan = kt_private.hyperband_plan(tuner.oracle) if cfg.tuner.name == "hyperband" else None
        tuner.progress.search_loaded(done, plan)
    log.info(
        "%s: searching with %s, %d trials x %d epochs on %d images (%s)%s",
        context.name,
        cfg.tuner.name,
        cfg.tuner.max_trials,
        cfg.train.epochs,
        len(job.dataset.x_train),
        job.dataset.source,
        "" if cfg.tracking.enabled else ", untracked",
    )


def _log_result(name: str, result: JobResult, seconds: float) -> None:
    r = result
    log.info(
        "%s: best trial %s val_accuracy %.4f, test_accuracy %.4f (%s); %d trials, "
        "%d failed, %.0f s",
        *(name, r.best_trial_id, r.best_val_accuracy, r.test_accuracy),
        *(_describe(r.best_hyperparameters), r.trials, r.failed, seconds),
    )
    for trial_id, reason in result.failures:
        log.info("%s: trial %s failed: %s", name, trial_id, reason)


def _job_tags(
    cfg, context: JobContext, key: str, tuner_dir: Path, source: str, resume_id: str | None
) -> dict:
    commit, dirty = git_state(ROOT)
    tags = {
        "overrides": " ".join(context.overrides),
        "search_key": key,
        "git_commit": commit,
        "git_dirty": dirty,
        # Also among every new run's source tags; here so a resumed job records its new commit.
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
