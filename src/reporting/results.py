"""A job's outcome: the best trial by validation accuracy, that model's test accuracy, and what
the job's run shows about its trials (a trials table, pictures and a Markdown summary).
"""

from __future__ import annotations

import resource
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src.data import Dataset
from src.model import OBJECTIVE
from src.reporting import plots
from src.reporting.summary import job_markdown
from src.tracking import Tracker


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


def epochs_trained(trial, epochs: int) -> int:
    """Epochs a trial trained: Hyperband's trials run from `tuner/initial_epoch` to `tuner/epochs`."""
    values = trial.hyperparameters.values
    if "tuner/epochs" in values:
        return int(values["tuner/epochs"]) - int(values.get("tuner/initial_epoch", 0))
    return epochs


def _reason(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no reason recorded"


def trial_rows(tuner) -> list[dict]:
    """Every trial as a row, best first (failed ones last)."""
    rows = []
    for trial in tuner.oracle.trials.values():
        params = tuner.hypermodel.model_params(trial.hyperparameters.copy()).as_dict()
        completed = trial.status == "COMPLETED"
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                **params,
                OBJECTIVE: trial.score if completed else None,
                "epoch_time": tuner.epoch_seconds.get(trial.trial_id),
                "error": None if completed else _reason(trial.message),
            }
        )
    return sorted(rows, key=lambda r: (r[OBJECTIVE] is None, -(r[OBJECTIVE] or 0)))


def _best_model(tuner, best, tracker: Tracker, run_id: str | None):
    """keras-tuner's checkpoint of the best trial; for a trial a worker on another host ran,
    the model its trial run holds in MLflow."""
    try:
        return tuner.load_model(best)
    except (OSError, ValueError):
        if run_id is None:
            raise
    import keras

    runs = [
        r
        for r in tracker.attempts_by_trial(run_id).get(best.trial_id, [])
        if r.info.status == "FINISHED"
    ]
    if not runs:
        raise RuntimeError(f"no checkpoint and no FINISHED run of trial {best.trial_id}")
    with tempfile.TemporaryDirectory() as tmp:
        return keras.models.load_model(
            tracker.download(runs[-1].info.run_id, "model.keras", Path(tmp))
        )


def record_best(
    tracker: Tracker,
    run_id: str | None,
    tuner,
    dataset: Dataset,
    cfg,
    job: str = "",
    searched: list[str] | None = None,
) -> JobResult:
    """Record on the job's run its best trial and that model's test metrics, its trials table,
    its pictures and its summary.

    The choice is made on `val_accuracy` alone; the test set is touched here only, afterwards,
    to report the chosen model.
    """
    rows = trial_rows(tuner)
    failures = [(r["trial_id"], r["error"]) for r in rows if r["status"] in ("FAILED", "INVALID")]
    best_trials = tuner.oracle.get_best_trials(1)
    if not best_trials:
        raise RuntimeError(
            f"no trial completed ({len(failures)} failed); see the trial runs' "
            "'error' tags in MLflow"
        )
    best = best_trials[0]
    one_hot = cfg.loss.name == "categorical"
    model = _best_model(tuner, best, tracker, run_id)
    batch = cfg.train.eval_batch_size
    test_loss, test_accuracy = model.evaluate(
        dataset.x_test, dataset.labels("test", one_hot), batch_size=batch, verbose=0
    )
    predicted = model.predict(dataset.x_test, batch_size=batch, verbose=0).argmax(axis=1)
    val_loss = best.metrics.get_last_value("val_loss")
    hps = dict(best.hyperparameters.values)
    resolved = tuner.hypermodel.model_params(best.hyperparameters.copy()).as_dict()
    best_run = next(
        (
            r.info.run_id
            for r in tracker.trial_runs(run_id)
            if r.data.tags.get("trial_id") == best.trial_id and r.info.status == "FINISHED"
        ),
        None,
    )
    scores = [r[OBJECTIVE] for r in rows if r[OBJECTIVE] is not None]
    times = [r["epoch_time"] for r in rows if r["epoch_time"] is not None]
    result = JobResult(
        job=job,
        loss=cfg.loss.name,
        run_id=run_id,
        best_trial_id=best.trial_id,
        best_hyperparameters=resolved,
        best_val_accuracy=float(best.score),
        best_val_loss=float(val_loss),
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        trials=len(rows),
        failed=len(failures),
        trial_epochs=sum(
            epochs_trained(t, cfg.train.epochs)
            for t in tuner.oracle.trials.values()
            if t.status == "COMPLETED"
        ),
        train_images=len(dataset.x_train),
        mean_val_accuracy=statistics.fmean(scores),
        mean_epoch_time=statistics.fmean(times) if times else None,
        # This process's peak: the job's own in a joblib worker, the largest so far otherwise.
        peak_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        failures=failures,
        rows=rows,
    )
    tracker.log_metrics(
        run_id,
        {
            f"best_{OBJECTIVE}": best.score,
            "best_val_loss": val_loss,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
            f"mean_{OBJECTIVE}": result.mean_val_accuracy,
            "peak_memory_mb": result.peak_memory_mb,
            **({"mean_epoch_time": result.mean_epoch_time} if times else {}),
        },
    )
    tracker.set_tags(
        run_id,
        {
            "best_trial_id": best.trial_id,
            "best_trial_run_id": best_run,
            **{f"best.{k}": v for k, v in {**hps, **resolved}.items()},
        },
    )
    tracker.log_json(
        run_id,
        {
            "trial_id": best.trial_id,
            "run_id": best_run,
            "hyperparameters": hps,
            "model_params": resolved,
            OBJECTIVE: best.score,
            "val_loss": val_loss,
            "test_accuracy": test_accuracy,
            "test_loss": test_loss,
            "failed_trials": dict(failures),
        },
        "best_trial.json",
    )
    if run_id is not None:
        _log_job_artifacts(tracker, run_id, result, dataset, predicted, searched or [])
    return result


def _log_job_artifacts(
    tracker: Tracker,
    run_id: str,
    result: JobResult,
    dataset: Dataset,
    predicted: np.ndarray,
    searched: list[str],
) -> None:
    import pandas as pd

    names = dataset.class_names
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pd.DataFrame(result.rows).to_csv(folder / "trials.csv", index=False)
        plots.confusion_matrix(
            dataset.y_test, predicted, names, folder / "confusion_matrix.png", f"{result.job}: "
        )
        plots.misclassified(
            dataset.x_test, dataset.y_test, predicted, names, folder / "misclassified.png"
        )
        completed = [r for r in result.rows if r[OBJECTIVE] is not None]
        plots.hyperparameter_effects(completed, searched, folder / "hyperparameters.png")
        (folder / "summary.md").write_text(job_markdown(result))
        for name in (
            "trials.csv",
            "confusion_matrix.png",
            "misclassified.png",
            "hyperparameters.png",
            "summary.md",
        ):
            tracker.log_file(run_id, folder / name)
