"""A tracked trial's MLflow run: a new one, the interrupted one continued from its resume point,
or the recorded result of one that finished before keras-tuner could save that."""

from __future__ import annotations

import logging
from collections.abc import Callable

import keras_tuner as kt

from src.model import OBJECTIVE
from src.runtime import signals
from src.search.resume import ResumePoint
from src.search.trials import record_trial
from src.tracking import PENDING

log = logging.getLogger(__name__)

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def crashes(runs) -> int:
    """How often the trial's process died in these runs (a run continued after a crash keeps
    the count of its earlier deaths in its `crashes` tag)."""
    return sum(
        int(r.data.tags.get("crashes", 0)) + (r.data.tags.get("killed_by") == "crash") for r in runs
    )


def continued_run(earlier, point: ResumePoint | None) -> str | None:
    """Why `point` cannot continue the trial's runs `earlier` (None: it can). A point continues
    only the trial's last run, and only once that run was interrupted."""
    if point is None:
        return None
    last = earlier[-1] if earlier else None
    if point.run_id is None or last is None or last.info.run_id != point.run_id:
        return "its resume point belongs to another run of the trial"
    if last.info.status != "KILLED":
        return f"its run is {last.info.status}, not interrupted"
    return None


def run_tracked_trial(tuner, trial, params: dict, train: Callable[[], list]):
    """Train the trial (`train`) in its run; its histories, or a finished run's result."""
    t = tuner.tracking
    if t.live_attempts:
        t.attempts = t.tracker.attempts_by_trial(t.parent_run_id)
    earlier = t.attempts.get(trial.trial_id, [])
    finished = [r for r in earlier if r.info.status == "FINISHED"]
    if finished:
        # The trial completed and was recorded, but the process died before keras-tuner
        # saved that: hand keras-tuner the recorded result instead of training it again.
        return recorded_result(t.tracker, finished[-1].info.run_id)
    died = crashes(earlier)
    point = tuner.resume_point
    if point is not None and str(point.run_id).startswith(PENDING):
        # A trial started while the store was away wrote to a provisional id.
        point.run_id = t.tracker.resolve(point.run_id)
    if (why := continued_run(earlier, point)) is not None:
        tuner.refuse_resume(trial, why)
        point = None
    if point is not None:
        tags = {"resumed_from_epoch": point.next_epoch, **({"crashes": died} if died else {})}
        opened = t.resumed(point.run_id, tags)
    else:
        opened = t.run(trial.trial_id, params)
    # The interrupt, even disguised, reaches the run as such: KILLED, and run again.
    with opened as run_id, signals.interrupt_wins():
        if died >= t.max_crashes:
            raise kt.errors.FailedTrialError(
                f"its process died on each of {died} attempts (out of memory?); "
                "not started again (tuner.max_crashes_per_trial)"
            )
        t.current_run_id = run_id
        if point is not None:
            log_unrecorded_epochs(t.tracker, run_id, point)
        elif tuner.resume_refused:
            t.tracker.set_tags(run_id, {"resume_refused": tuner.resume_refused})
        try:
            histories = train()
            record_trial(tuner, trial, run_id, histories[-1])
            if t.live_attempts:  # a distributed worker: the chief may read the trial's model
                t.tracker.flush()  # from its run as soon as the oracle hears it ended
        finally:
            t.current_run_id = None
    return histories


def log_unrecorded_epochs(tracker, run_id: str, point: ResumePoint) -> None:
    """The epochs a resume point holds that its run did not record before the interruption
    (the point is saved before an epoch's metrics are handed over): each step once."""
    recorded = {step for step, _ in tracker.metric_history(run_id, OBJECTIVE)}
    for epoch in point.epochs:
        if epoch not in recorded:
            tracker.log_metrics(run_id, point.at(epoch), step=epoch)


def recorded_result(tracker, run_id: str) -> dict[str, float]:
    """The metrics of a recorded trial run at its best epoch, as keras-tuner takes them."""
    history = {key: dict(tracker.metric_history(run_id, key)) for key in EPOCH_METRICS}
    best = max(history[OBJECTIVE], key=history[OBJECTIVE].get)
    return {key: values[best] for key, values in history.items() if best in values}
