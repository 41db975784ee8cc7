"""A job's outcome: the best trial by validation accuracy, and that model's test accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field

from src.data import Dataset
from src.model import OBJECTIVE
from src.tracking import Tracker


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
    # Epochs trained by the trials that completed (Hyperband trains most trials for fewer).
    trial_epochs: int
    train_images: int
    # (trial id, reason) of every trial that failed, for the closing summary.
    failures: list[tuple[str, str]] = field(default_factory=list)


def epochs_trained(trial, epochs: int) -> int:
    """Epochs a trial trained: Hyperband's trials run from `tuner/initial_epoch` to `tuner/epochs`."""
    values = trial.hyperparameters.values
    if "tuner/epochs" in values:
        return int(values["tuner/epochs"]) - int(values.get("tuner/initial_epoch", 0))
    return epochs


def _reason(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no reason recorded"


def record_best(tracker: Tracker, run_id: str, tuner, dataset: Dataset, cfg) -> JobResult:
    """Record on the job's run its best trial and that model's test metrics.

    The choice is made on `val_accuracy` alone; the test set is touched here only, afterwards,
    to report the chosen model.
    """
    trials = list(tuner.oracle.trials.values())
    failures = [
        (t.trial_id, _reason(t.message)) for t in trials if t.status in ("FAILED", "INVALID")
    ]
    best_trials = tuner.oracle.get_best_trials(1)
    if not best_trials:
        raise RuntimeError(
            f"no trial completed ({len(failures)} failed); see the trial runs' "
            "'error' tags in MLflow"
        )
    best = best_trials[0]
    one_hot = cfg.loss.name == "categorical"
    model = tuner.load_model(best)
    test_loss, test_accuracy = model.evaluate(
        dataset.x_test,
        dataset.labels("test", one_hot),
        batch_size=cfg.train.eval_batch_size,
        verbose=0,
    )
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
    tracker.log_metrics(
        run_id,
        {
            f"best_{OBJECTIVE}": best.score,
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
    return JobResult(
        run_id,
        best.trial_id,
        resolved,
        float(best.score),
        float(val_loss),
        float(test_accuracy),
        float(test_loss),
        len(trials),
        len(failures),
        sum(epochs_trained(t, cfg.train.epochs) for t in trials if t.status == "COMPLETED"),
        len(dataset.x_train),
        failures,
    )
