"""What a tuner needs to record its trials, and how a trial's end is reported."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras_tuner as kt

from src import runtime
from src.model import OBJECTIVE, cost, keras_file
from src.runtime import timings
from src.search import kt_private
from src.search.progress import JobProgress
from src.search.sampling import short
from src.tracking import StoreUnavailable, Tracker, log_dataset, system_metrics


@dataclass
class TrialTracking:
    """What a tuner needs to record its trials: the store, the parent run, the fixed settings."""

    tracker: Tracker
    parent_run_id: str | None  # the job's run (`bind`)
    fixed_params: Mapping[str, Any]
    # Runs of earlier attempts per trial id, when resuming a job.
    attempts: Mapping[str, list] = field(default_factory=dict)
    # A trial whose process died this many times is recorded FAILED instead of started again.
    max_crashes: int = 3
    # Tags on every trial run (a distributed worker's tuner_id and host).
    tags: Mapping[str, Any] = field(default_factory=dict)
    # Read earlier attempts from the store at each trial's start (distributed workers: other
    # processes record attempts while this one runs) instead of once from `attempts`.
    live_attempts: bool = False
    # MLflow dataset inputs (the training and validation splits) and system metrics, per trial.
    inputs: list = field(default_factory=list)
    system_metrics: bool = False
    # Each trial's own learning-curves picture (the job's run has every trial's curves).
    trial_plots: bool = False
    # The run of the trial training now (None between trials): its epochs are logged to it.
    current_run_id: str | None = field(default=None, repr=False)

    def bind(self, parent_run_id: str, attempts: Mapping[str, list]) -> None:
        """The job's run, opened after the tuner's state is loaded (unreadable state stops the
        job before any run is touched), and its trials' earlier attempts."""
        self.parent_run_id, self.attempts = parent_run_id, attempts

    @contextmanager
    def run(self, trial_id: str, params: Mapping[str, Any]) -> Iterator[str]:
        """A trial's run under the job's, with its dataset inputs and system metrics."""
        with self.tracker.trial_run(self.parent_run_id, trial_id, params, self.tags) as run_id:
            log_dataset(self.tracker, run_id, self.inputs)
            with system_metrics(self.tracker, run_id, self.system_metrics):
                yield run_id

    @contextmanager
    def resumed(self, run_id: str, tags: Mapping[str, Any]) -> Iterator[str]:
        """An interrupted trial's run reopened by this process (its tuner id and host now)."""
        with (
            self.tracker.resumed_trial_run(run_id, {**self.tags, **tags}),
            system_metrics(self.tracker, run_id, self.system_metrics),
        ):
            yield run_id


class NaNLossError(kt.errors.FailedTrialError):
    """The loss became NaN: the same values would diverge again, so never retried."""


def checked(histories):
    """A trial's histories, or NaNLossError if its loss diverged."""
    for history in histories:
        losses = history.history.get("loss", [])
        if any(not math.isfinite(v) for v in losses):
            raise NaNLossError("loss became NaN or infinite; lower the learning rate")
    return histories


class StoreLost(kt.errors.FatalError):
    """The tracking store was given up on (src/tracking/background.py): keras-tuner must end
    the search, not count the trial as failed and try another. `__cause__` holds the
    `StoreUnavailable` to report."""


@contextmanager
def store_loss_is_fatal() -> Iterator[None]:
    try:
        yield
    except StoreUnavailable as exc:
        raise StoreLost(str(exc)) from exc


def report_trial_ended(
    progress: JobProgress, oracle, hypermodel, trial, pruned: bool = False
) -> None:
    """Tell the job's progress a trial ended, with the best trial so far and its values."""
    best = oracle.get_best_trials(1)
    progress.trial_ended(
        failed=trial.status != "COMPLETED",
        pruned=pruned,
        best_val_accuracy=best[0].score if best else None,
        best=short(
            hypermodel.values(best[0].hyperparameters.copy()),
            hypermodel.search_space.searched(),
        )
        if best
        else "",
    )


def record_trial(tuner, trial, run_id: str, history) -> None:
    """What a finished trial leaves on its run: summary metrics, hyperparameters, learning
    curves, its best-epoch model and what that model costs to serve (src/model/cost.py)."""
    tracker = tuner.tracking.tracker
    values = history.history[OBJECTIVE]
    best = max(range(len(values)), key=values.__getitem__)
    metrics = {
        f"best_{OBJECTIVE}": values[best],
        "best_val_loss": history.history["val_loss"][best],
        "best_epoch": history.epoch[best],
        "mean_epoch_time": sum(tuner._epoch_times) / max(len(tuner._epoch_times), 1),
    }
    if history.epoch[-1] + 1 < history.params.get("epochs", 0):  # stopped early or pruned
        metrics["stopped_epoch"] = history.epoch[-1]
    tracker.log_metrics(run_id, metrics)
    if getattr(tuner, "pruned_at", None) is not None:
        tracker.set_tags(run_id, {"pruned": "true", "pruned_at_epoch": tuner.pruned_at})
    tracker.log_json(run_id, trial.hyperparameters.values, "hyperparameters.json")
    if tuner.tracking.trial_plots:
        curves = {"history": history.history, "epochs": history.epoch}
        with timings.cost("learning_curves"):  # drawn by the tracking process while we go on
            tracker.log_picture(
                run_id,
                "learning_curves",
                {**curves, "title": f"trial {trial.trial_id}"},
                "learning_curves.svg",
            )
    with tempfile.TemporaryDirectory() as tmp, timings.cost("model_save"):
        # The model its score belongs to: keras-tuner's best-epoch checkpoint, with the config
        # of the model just trained (building another costs 0.1 s a trial).
        model = tuner.hypermodel.take_trained()
        model = tuner.load_model(trial) if model is None else model
        checkpoint = Path(kt_private.best_checkpoint(tuner, trial.trial_id))
        saved = keras_file.keras_file(model, checkpoint, Path(tmp) / "model.keras")
        with timings.cost("latency"):
            costs = cost.cost(model, saved, runtime.threads())
        tuner.costs[trial.trial_id] = costs
        tracker.log_metrics(run_id, {k: costs[k] for k in cost.COST_METRICS})
        tracker.log_params(run_id, {"latency_threads": costs["latency_threads"]})
        tracker.log_file(run_id, saved)


def recorded_figures(tuner, attempts: dict[str, list]) -> None:
    """Fill the tuner's seconds per epoch and its models' costs from the latest recorded run
    of each trial (trials run before a resume, or by workers)."""
    for trial_id, runs in attempts.items():
        take_figures(tuner, trial_id, runs[-1].data.metrics if runs else {})


def take_figures(tuner, trial_id: str, metrics) -> None:
    """A trial's seconds per epoch and its model's costs, from the metrics its run recorded."""
    if (seconds := metrics.get("mean_epoch_time")) is not None:
        tuner.epoch_seconds[trial_id] = seconds
    if cost.COST_METRICS.keys() <= metrics.keys():
        tuner.costs[trial_id] = {name: metrics[name] for name in cost.COST_METRICS}
