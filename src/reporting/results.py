"""A job's outcome: the best trial by validation accuracy, that model's test accuracy, and what
the job's run shows about its trials (a trials table, pictures and a Markdown summary).
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path

from src.data import Dataset
from src.model import OBJECTIVE, scoring
from src.reporting import mattered
from src.reporting.mattered import Mattered
from src.reporting.records import (
    log_best,
    log_job_files,
    log_search_pictures,
    log_test_pictures,
)
from src.reporting.trial_rows import at_best_epoch, completed_epochs, trial_rows
from src.search.space import Space
from src.tracking import Tracker


@dataclass(frozen=True)
class Repeat:
    """The job's best configuration retrained with one training seed (study.repeats)."""

    seed: int
    val_accuracy: float  # at its best epoch
    test_accuracy: float  # of its best epoch's weights: reported, never used to choose
    epoch_time: float  # mean seconds per epoch
    peak_memory_mb: float  # the process's peak resident memory while it trained

    @classmethod
    def from_metrics(cls, seed: int, metrics: dict[str, float]) -> Repeat:
        return cls(seed, **{name: metrics[key] for name, key in REPEAT_METRICS.items()})


# Each field of a Repeat (seed aside) and the metric its run records it as.
REPEAT_METRICS = {
    "val_accuracy": f"best_{OBJECTIVE}",
    "test_accuracy": "test_accuracy",
    "epoch_time": "mean_epoch_time",
    "peak_memory_mb": "peak_memory_mb",
}


@dataclass(frozen=True)
class JobResult:
    job: str
    loss: str
    run_id: str | None
    best_trial_id: str
    best_hyperparameters: dict
    best_val_accuracy: float
    best_val_loss: float
    test_accuracy: float
    test_loss: float
    trials: int
    failed: int
    # Epochs trained by the trials that completed (Hyperband trains most trials for fewer).
    trial_epochs: int
    train_images: int
    mean_val_accuracy: float
    mean_epoch_time: float | None
    peak_memory_mb: float
    # (trial id, reason) of every trial that failed, for the closing summary.
    failures: list[tuple[str, str]] = field(default_factory=list)
    # One row per trial: id, status, hyperparameters, val_accuracy, epoch time.
    rows: list[dict] = field(default_factory=list)
    # The hyperparameters the job's space varied, in declaration order (the summary's columns).
    searched: list[str] = field(default_factory=list)
    # Those of them sampled on a log scale.
    log_scaled: list[str] = field(default_factory=list)
    # Why the search ended before its trials were done: "time_budget" (tuner.max_minutes).
    stopped_by: str | None = None
    # Trials the pruner stopped early (tuner.pruner); they count among `trials`.
    pruned: int = 0
    # The study's studied settings and this job's value of each (the verdict compares jobs
    # that differ in them).
    studied: dict[str, str] = field(default_factory=dict)
    # The best configuration retrained with each of study.repeats seeds, in seed order.
    repeats: list[Repeat] = field(default_factory=list)
    # Each searched hyperparameter's importance and the Pareto front of accuracy against cost.
    mattered: Mattered = field(default_factory=Mattered)
    # tuner.warm_start: the sweep it started from, its reused trials' runs (this search's trial
    # id -> run id), and how many of that sweep's trials were left out.
    warm_start: dict = field(default_factory=dict)


def _best_trial(tuner, failed: int):
    """The trial with the best `val_accuracy` (only validation images chose it)."""
    best_trials = tuner.oracle.get_best_trials(1)
    if not best_trials:
        raise RuntimeError(
            f"no trial completed ({failed} failed); see the trial runs' 'error' tags in MLflow"
        )
    return best_trials[0]


def _best_model(tuner, best, tracker: Tracker, run_id: str | None):
    """keras-tuner's checkpoint of the best trial; for a trial a worker on another host ran,
    the model its trial run holds in MLflow; for one an earlier sweep ran (tuner.warm_start),
    the model of that sweep's run."""
    from src.search.warm_start import reused_runs  # keras-tuner: not for readers of the types

    source = reused_runs(tuner).get(best.trial_id)
    if source is None:
        try:
            return tuner.load_model(best)
        except (OSError, ValueError):
            if run_id is None:
                raise
        runs = [
            r
            for r in tracker.attempts_by_trial(run_id).get(best.trial_id, [])
            if r.info.status == "FINISHED"
        ]
        if not runs:
            raise RuntimeError(f"no checkpoint and no FINISHED run of trial {best.trial_id}")
        source = runs[-1].info.run_id
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        return keras.models.load_model(tracker.download(source, "model.keras", Path(tmp)))


def _warm_start(tuner) -> dict:
    from src.search.warm_start import reused_runs

    warm = getattr(tuner, "warm", None)
    if warm is None:
        return {}
    return {
        "sweep_id": warm.sweep_id,
        "runs": reused_runs(tuner),
        "outside": warm.outside,
        "unlike": warm.unlike,
    }


def record_best(
    tracker: Tracker,
    run_id: str | None,
    tuner,
    dataset: Dataset,
    cfg,
    job: str = "",
    space: Space | None = None,
) -> JobResult:
    """Record on the job's run its best trial and that model's test metrics, its trials table,
    its pictures and its summary.

    The choice is made on `val_accuracy` alone; the test set is touched here only, afterwards,
    to report the chosen model.
    """
    rows = trial_rows(tuner)
    failures = [(r["trial_id"], r["error"]) for r in rows if r["status"] in ("FAILED", "INVALID")]
    best = _best_trial(tuner, len(failures))
    found = mattered.weigh(rows)
    if run_id is not None:  # drawn by the tracking process while the job goes on
        log_search_pictures(tracker, run_id, rows, space, tuner.oracle, best.trial_id, job)
        mattered.record(tracker, run_id, rows, found, job)
    test = _tested(tracker, run_id, tuner, best, dataset, cfg, job)
    scores = [r[OBJECTIVE] for r in rows if r[OBJECTIVE] is not None]
    times = [r["epoch_time"] for r in rows if r["epoch_time"] is not None]
    result = JobResult(
        job=job,
        loss=str(cfg.loss.name),
        run_id=run_id,
        best_trial_id=best.trial_id,
        best_hyperparameters=tuner.hypermodel.values(best.hyperparameters.copy()),
        best_val_accuracy=float(best.score),
        best_val_loss=at_best_epoch(best, "val_loss"),
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        trials=len(rows),
        failed=len(failures),
        pruned=sum(r["pruned_at"] is not None for r in rows),
        trial_epochs=completed_epochs(tuner, cfg.train.epochs),
        train_images=len(dataset.x_train),
        mean_val_accuracy=statistics.fmean(scores),
        mean_epoch_time=statistics.fmean(times) if times else None,
        # This process's peak: the job's own in a joblib worker, the largest so far otherwise.
        peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        failures=failures,
        rows=rows,
        searched=space.searched() if space else [],
        log_scaled=sorted(space.log_scaled()) if space else [],
        stopped_by=getattr(tuner, "stopped_by", None),
        studied=studied_values(cfg),
        mattered=found,
        warm_start=_warm_start(tuner),
    )
    log_best(tracker, run_id, result, dict(best.hyperparameters.values))
    if run_id is not None:
        log_job_files(tracker, run_id, result)
    return result


def _tested(tracker: Tracker, run_id, tuner, best, dataset: Dataset, cfg, job: str):
    """The best model's test scores, and their pictures on the job's run."""
    model = _best_model(tuner, best, tracker, run_id)
    labels = dataset.labels("test", cfg.loss.name == "categorical")
    test = scoring.score(model, dataset.x_test, labels, cfg.train.eval_batch_size)
    if run_id is not None:
        log_test_pictures(tracker, run_id, job, dataset, test.probabilities.argmax(axis=1))
    return test


def studied_values(cfg) -> dict[str, str]:
    """This job's value of each setting its study names as studied (`loss` -> `sparse`,
    `search.<name>` -> the entry as written), as text."""
    values = {}
    for key in cfg.study.studied:
        node = cfg
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if is_dataclass(node) and hasattr(node, "name"):  # a config group: its option's name
            node = node.name
        values[key] = str(node) if isinstance(node, str) else json.dumps(node, sort_keys=True)
    return values
