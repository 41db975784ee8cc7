"""What a job's run shows once its search is over: the best trial's metrics and tags,
`best_trial.json`, the trials table, pictures and the job's Markdown summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from src import pictures
from src.data import Dataset
from src.model import OBJECTIVE
from src.reporting.outcome import REPEAT_METRICS, JobResult, Repeat
from src.reporting.stats import describe
from src.reporting.summary import job_markdown, write_csv
from src.search.space import Space
from src.tracking import Tracker


def log_best(tracker: Tracker, run_id: str | None, result: JobResult, hps: dict) -> None:
    """The best trial on the job's run: metrics, `best.<name>` tags and `best_trial.json`."""
    best_run = next(
        (
            r.info.run_id
            for r in tracker.child_runs(run_id, "trial")
            if r.data.tags.get("trial_id") == result.best_trial_id and r.info.status == "FINISHED"
        ),
        result.warm_start.get("runs", {}).get(result.best_trial_id),  # an earlier sweep's
    )
    tracker.log_metrics(
        run_id,
        {
            f"best_{OBJECTIVE}": result.best_val_accuracy,
            "best_val_loss": result.best_val_loss,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            f"mean_{OBJECTIVE}": result.mean_val_accuracy,
            "trials_pruned": result.pruned,
            "peak_memory_mb": result.peak_memory_mb,
            **({"mean_epoch_time": result.mean_epoch_time} if result.mean_epoch_time else {}),
        },
    )
    resolved = result.best_hyperparameters
    tracker.set_tags(
        run_id,
        {
            "best_trial_id": result.best_trial_id,
            "best_trial_run_id": best_run,
            "stopped_by": result.stopped_by,
            **{f"best.{k}": v for k, v in {**hps, **resolved}.items()},
        },
    )
    tracker.log_json(
        run_id,
        {
            "trial_id": result.best_trial_id,
            "run_id": best_run,
            "hyperparameters": hps,
            "model_params": resolved,
            OBJECTIVE: result.best_val_accuracy,
            "val_loss": result.best_val_loss,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            "failed_trials": dict(result.failures),
        },
        "best_trial.json",
    )


def log_search_pictures(
    tracker: Tracker, run_id: str, rows: list[dict], space: Space | None, oracle, best: str, job
) -> None:
    """`val_accuracy` against each searched hyperparameter, and every trial's curves: drawn by
    the tracking process while the job picks and scores its best model (the trials alone
    decide it)."""
    effects = {
        "trials": [r for r in rows if r[OBJECTIVE] is not None],
        "searched": space.searched() if space else [],
        "log_scaled": space.log_scaled() if space else set(),
    }
    tracker.log_picture(run_id, "hyperparameter_effects", effects, "hyperparameters.svg")
    log_curves_picture(tracker, run_id, oracle.trials.values(), best, job)


def log_curves_picture(tracker: Tracker, run_id: str, trials, best_id: str, job: str) -> None:
    """Every trial's validation curves on the job's run, from keras-tuner's record of each
    epoch (every epoch reaches the oracle): drawn once, by the tracking process."""
    curves = {}
    for trial in trials:
        if not trial.metrics.exists(OBJECTIVE):
            continue  # failed before its first epoch
        by_key = {
            key: {o.step: float(o.mean()) for o in trial.metrics.get_history(key)}
            for key in ("val_loss", OBJECTIVE)
        }
        epochs = sorted(by_key[OBJECTIVE].keys() & by_key["val_loss"].keys())
        curves[trial.trial_id] = {
            "epochs": epochs,
            **{key: [values[e] for e in epochs] for key, values in by_key.items()},
        }
    title = f"{job}: {len(curves)} trials, validation per epoch (grey: the others)"
    data = {"trials": curves, "best": best_id, "title": title.lstrip(": ")}
    tracker.log_picture(run_id, "trial_curves", data, "trial_curves.svg")


def log_test_pictures(
    tracker: Tracker, run_id: str, job: str, dataset: Dataset, predicted: np.ndarray
) -> None:
    """The best model's test confusion matrix and misclassified images: drawn by the tracking
    process from their data while the job goes on."""
    names, y_true = list(dataset.class_names), dataset.y_test
    title = f"{job}: "
    confusion = {"y_true": y_true, "y_pred": predicted, "class_names": names, "title": title}
    tracker.log_picture(run_id, "confusion_matrix", confusion, "confusion_matrix.svg")
    wrong = np.flatnonzero(y_true != predicted)[: pictures.MISCLASSIFIED]  # only the images drawn
    shown = {"images": dataset.x_test[wrong], "y_true": y_true[wrong], "y_pred": predicted[wrong]}
    tracker.log_picture(
        run_id, "misclassified", {**shown, "class_names": names}, "misclassified.svg"
    )


def log_job_files(tracker: Tracker, run_id: str, result: JobResult) -> None:
    """The trials table and the job's Markdown summary."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_csv(result.rows, folder / "trials.csv")
        (folder / "summary.md").write_text(job_markdown(result))
        for name in ("trials.csv", "summary.md"):
            tracker.log_file(run_id, folder / name)


def log_repeats(tracker: Tracker, run_id: str | None, repeats: list[Repeat]) -> None:
    """The repeats' statistics on the job's run: `repeats.<quantity>.mean`, `.sd`, `.ci_low`
    and `.ci_high` (a 95% t-interval) for each quantity, and `repeats.seeds`."""
    if not repeats:
        return
    metrics = {"repeats.seeds": len(repeats)}
    for quantity in REPEAT_METRICS:
        e = describe([getattr(r, quantity) for r in repeats])
        metrics[f"repeats.{quantity}.mean"] = e.mean
        if e.has_interval:
            metrics |= {
                f"repeats.{quantity}.sd": e.sd,
                f"repeats.{quantity}.ci_low": e.low,
                f"repeats.{quantity}.ci_high": e.high,
            }
    tracker.log_metrics(run_id, metrics)
