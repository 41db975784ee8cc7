"""A job's best trial: chosen on `val_accuracy` alone, its model scored on the test set (the
only time the test set is touched, to report it), and recorded with the job's trials on the
job's run (src/job/records.py)."""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
from dataclasses import is_dataclass
from pathlib import Path

from src.data import Dataset
from src.job.records import log_best, log_job_files, log_search_pictures, log_test_pictures
from src.job.trial_rows import at_best_epoch, completed_epochs, trial_rows
from src.model import OBJECTIVE, scoring
from src.reporting import mattered
from src.reporting.outcome import JobResult
from src.search.space import Space
from src.tracking import Tracker

# Imported inside functions: Keras and keras-tuner's side of the warm start load where a job
# records its best model.


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
    from src.search.warm_start import reused_runs  # keras-tuner's: only where a job records

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
    workers: list[dict] | None = None,
) -> JobResult:
    """Record on the job's run its best trial and that model's test metrics, its trials table,
    its pictures and its summary (naming a distributed search's `workers`).

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
        workers=workers or [],
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
