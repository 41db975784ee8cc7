"""What a tuner needs to record its trials, and how a trial's end is reported."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import keras_tuner as kt

from src.reporting.progress import JobProgress
from src.search.sampling import short
from src.tracking import Tracker, log_dataset, system_metrics


@dataclass
class TrialTracking:
    """What a tuner needs to record its trials: the store, the parent run, the fixed settings."""

    tracker: Tracker
    parent_run_id: str
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
    _run_id: str | None = field(default=None, repr=False)

    @contextmanager
    def run(self, trial_id: str, params: Mapping[str, Any]) -> Iterator[str]:
        """A trial's run under the job's, with its dataset inputs and system metrics."""
        with self.tracker.trial_run(self.parent_run_id, trial_id, params, self.tags) as run_id:
            log_dataset(self.tracker, run_id, self.inputs)
            with system_metrics(self.tracker, run_id, self.system_metrics):
                yield run_id


class NaNLossError(kt.errors.FailedTrialError):
    """The loss became NaN: the same values would diverge again, so never retried."""


def report_trial_ended(progress: JobProgress, oracle, hypermodel, trial) -> None:
    """Tell the job's progress a trial ended, with the best trial so far and its values."""
    best = oracle.get_best_trials(1)
    progress.trial_ended(
        failed=trial.status != "COMPLETED",
        best_val_accuracy=best[0].score if best else None,
        best=short(
            hypermodel.values(best[0].hyperparameters.copy()),
            hypermodel.search_space.searched(),
        )
        if best
        else "",
    )
