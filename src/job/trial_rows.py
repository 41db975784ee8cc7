"""A job's trials read from keras-tuner's record: one row each (hyperparameters, score, time
per epoch, cost, where it was pruned, why it failed) and the epochs they trained."""

from __future__ import annotations

from src.model import OBJECTIVE
from src.model.cost import COST_METRICS
from src.search import pruning

# Imported inside functions: keras-tuner's side of the warm start loads only where a job's
# trials are read.


def epochs_trained(trial, epochs: int) -> int:
    """Epochs a trial trained: those it reported to the oracle (stopped early or pruned: fewer);
    else Hyperband's from `tuner/initial_epoch` to `tuner/epochs`, or the planned `epochs`."""
    if reported := len(pruning.curve(trial)):
        return reported
    values = trial.hyperparameters.values
    if "tuner/epochs" in values:
        return int(values["tuner/epochs"]) - int(values.get("tuner/initial_epoch", 0))
    return epochs


def completed_epochs(tuner, epochs: int) -> int:
    """Epochs trained by the trials that completed."""
    trials = tuner.oracle.trials.values()
    return sum(epochs_trained(t, epochs) for t in trials if t.status == "COMPLETED")


def at_best_epoch(trial, metric: str) -> float:
    """A trial's `metric` at the epoch of its best val_accuracy (keras-tuner's `best_step`)."""
    history = trial.metrics.get_history(metric)
    at_best = [obs.mean() for obs in history if obs.step == trial.best_step]
    return float(at_best[0] if at_best else trial.metrics.get_last_value(metric))


def _reason(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no reason recorded"


def trial_rows(tuner) -> list[dict]:
    """Every trial as a row, best first (failed ones last)."""
    rows = []
    from src.search.warm_start import reused_runs  # keras-tuner's: the job's process only

    reused = reused_runs(tuner)
    for trial in tuner.oracle.trials.values():
        params = tuner.hypermodel.values(trial.hyperparameters.copy())
        completed = trial.status == "COMPLETED"
        costs = tuner.costs.get(trial.trial_id, {}) if completed else {}
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                **params,
                OBJECTIVE: trial.score if completed else None,
                "epoch_time": tuner.epoch_seconds.get(trial.trial_id),
                **{name: costs.get(name) for name in COST_METRICS},
                "pruned_at": pruning.pruned_at(trial),
                "error": None if completed else _reason(trial.message),
                # An earlier sweep's trial this search reused (tuner.warm_start): its run.
                **({"reused_run": reused[trial.trial_id]} if trial.trial_id in reused else {}),
            }
        )
    return sorted(rows, key=lambda r: (r[OBJECTIVE] is None, -(r[OBJECTIVE] or 0)))
