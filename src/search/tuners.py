"""keras-tuner, extended through its own hooks to record every trial in MLflow.

The HyperModel owns the search space, keras-tuner's oracles own the algorithm and the trials'
life cycle, and `TrackedTuner` adds tracking in `run_trial` (one MLflow run per trial, opened
and closed around the training) and in `on_epoch_begin/end` (one batch of metrics per epoch).
Nothing here is a callback handed to `search()`, so nothing needs to survive a deep copy.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path

import keras
import keras_tuner as kt

from src import runtime
from src.model import OBJECTIVE
from src.reporting import plots
from src.reporting.progress import JobProgress
from src.runtime import signals
from src.search import kt_private
from src.search.hypermodel import SoftmaxHyperModel
from src.search.trials import NaNLossError, TrialTracking, report_trial_ended

log = logging.getLogger(__name__)

# keras-tuner prints the traceback of every failed trial; each failed trial run carries it in
# MLflow instead (error.txt), and the job's summary lists the reasons.
kt_private.quiet()

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class TrackedTuner:
    """Mixin over a keras-tuner Tuner class: records each trial as a nested MLflow run and keeps
    the job's progress file current."""

    tracking: TrialTracking | None = None
    progress: JobProgress | None = None
    # Mean seconds per epoch of each trial (a resumed job fills in its earlier trials).
    epoch_seconds: dict[str, float]
    # tuner.max_minutes: no trial starts after this time.monotonic() (at least one always runs).
    deadline: float | None = None
    # Why the search ended before its trials were done ("time_budget"), or None.
    stopped_by: str | None = None
    _started_here = 0

    def pre_create_trial(self):
        super().pre_create_trial()
        if self.deadline is not None and self._started_here and time.monotonic() >= self.deadline:
            self.stopped_by = "time_budget"
            raise BudgetSpent
        self._started_here += 1

    def run_trial(self, trial, *args, **kwargs):
        self._epoch_times: list[float] = []
        if self.tracking is None:
            return self._checked(super().run_trial(trial, *args, **kwargs))
        t = self.tracking
        if t.live_attempts:
            t.attempts = t.tracker.attempts_by_trial(t.parent_run_id)
        earlier = t.attempts.get(trial.trial_id, [])
        finished = [r for r in earlier if r.info.status == "FINISHED"]
        if finished:
            # The trial completed and was recorded, but the process died before keras-tuner
            # saved that: hand keras-tuner the recorded result instead of training it again.
            return self._recorded_result(finished[-1].info.run_id)
        crashes = sum(r.data.tags.get("killed_by") == "crash" for r in earlier)
        # Raw hp values (e.g. learning_rate_sgd) and the model arguments they resolve to (one
        # learning_rate column whatever the optimizer), plus the settings all trials share.
        resolved = self.hypermodel.values(trial.hyperparameters.copy())
        params = {**trial.hyperparameters.values, **resolved, **t.fixed_params}
        with t.run(trial.trial_id, params) as run_id:
            if crashes >= t.max_crashes:
                raise kt.errors.FailedTrialError(
                    f"its process died on each of {crashes} attempts (out of memory?); "
                    "not started again (tuner.max_crashes_per_trial)"
                )
            t._run_id = run_id
            try:
                histories = self._checked(super().run_trial(trial, *args, **kwargs))
                self._record_trial(trial, run_id, histories[-1])
            finally:
                t._run_id = None
        return histories

    def _record_trial(self, trial, run_id: str, history) -> None:
        """What a finished trial leaves on its run: summary metrics, hyperparameters, learning
        curves and its best-epoch model."""
        tracker = self.tracking.tracker
        values = history.history[OBJECTIVE]
        best = max(range(len(values)), key=values.__getitem__)
        metrics = {
            f"best_{OBJECTIVE}": values[best],
            "best_val_loss": history.history["val_loss"][best],
            "best_epoch": history.epoch[best],
            "mean_epoch_time": sum(self._epoch_times) / max(len(self._epoch_times), 1),
        }
        if history.epoch[-1] + 1 < history.params.get("epochs", 0):  # early stopping ended it
            metrics["stopped_epoch"] = history.epoch[-1]
        tracker.log_metrics(run_id, metrics)
        tracker.log_json(run_id, trial.hyperparameters.values, "hyperparameters.json")
        with tempfile.TemporaryDirectory() as tmp:
            curves = plots.learning_curves(
                history.history,
                history.epoch,
                Path(tmp) / "learning_curves.png",
                f"trial {trial.trial_id}",
            )
            tracker.log_file(run_id, curves)
            # The model its score belongs to: keras-tuner's best-epoch checkpoint, loaded into
            # the model just trained (building another costs 0.1 s a trial).
            model = self.hypermodel.take_trained()
            model = self.load_model(trial) if model is None else model
            model.load_weights(self._get_checkpoint_fname(trial.trial_id))
            model.save(Path(tmp) / "model.keras")
            tracker.log_file(run_id, Path(tmp) / "model.keras")

    def _recorded_result(self, run_id: str) -> dict[str, float]:
        """The metrics of a recorded trial run at its best epoch, as keras-tuner takes them."""
        tracker = self.tracking.tracker
        history = {key: dict(tracker.metric_history(run_id, key)) for key in EPOCH_METRICS}
        best = max(history[OBJECTIVE], key=history[OBJECTIVE].get)
        return {key: values[best] for key, values in history.items() if best in values}

    @staticmethod
    def _checked(histories):
        for history in histories:
            losses = history.history.get("loss", [])
            if any(not math.isfinite(v) for v in losses):
                raise NaNLossError("loss became NaN or infinite; lower the learning rate")
        return histories

    def on_trial_begin(self, trial):
        self._before_trial = runtime.trial_snapshot()
        super().on_trial_begin(trial)
        if self.progress is not None:
            self.progress.trial_started(trial.trial_id, len(self.oracle.trials))

    def on_trial_end(self, trial):
        if getattr(self, "_epoch_times", None):
            self.epoch_seconds[trial.trial_id] = sum(self._epoch_times) / len(self._epoch_times)
        try:
            super().on_trial_end(trial)
        finally:
            getattr(self.hypermodel, "take_trained", lambda: None)()  # frees its graphs
            runtime.release_trial(self._before_trial)
        if self.progress is not None:
            report_trial_ended(self.progress, self.oracle, self.hypermodel, trial)

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, trial, model, epoch, logs=None):
        seconds = time.perf_counter() - self._epoch_started
        self._epoch_times.append(seconds)
        if self.progress is not None:
            self.progress.epoch_ended(epoch)
        if self.tracking is None or self.tracking._run_id is None:
            return
        metrics = {k: float(v) for k, v in (logs or {}).items() if k in EPOCH_METRICS}
        metrics["epoch_time"] = seconds
        self.tracking.tracker.log_metrics(self.tracking._run_id, metrics, step=epoch)


class BudgetSpent(Exception):
    """tuner.max_minutes has passed: the search ends before starting another trial."""


class StopOnSignal(keras.callbacks.Callback):
    """Stops training at the next batch once Ctrl-C or SIGTERM arrived, even if the interrupt
    the signal raised was swallowed by a finalizer (src/runtime/signals.py). Stateless, so
    keras-tuner's per-trial deep copy is harmless."""

    def on_train_batch_end(self, batch, logs=None):
        signals.check()

    def on_test_batch_end(self, batch, logs=None):
        signals.check()


class RandomSearch(TrackedTuner, kt.RandomSearch):
    pass


class BayesianOptimization(TrackedTuner, kt.BayesianOptimization):
    pass


class GridSearch(TrackedTuner, kt.GridSearch):
    pass


class Hyperband(TrackedTuner, kt.Hyperband):
    pass


def make_tuner(
    tuner_cfg,
    hypermodel: SoftmaxHyperModel,
    epochs: int,
    seed: int,
    directory: Path,
    project_name: str,
    overwrite: bool,
    tracking: TrialTracking | None,
) -> kt.Tuner:
    """The keras-tuner tuner named by `tuner_cfg.name`, wired for tracking."""
    common = dict(
        hypermodel=hypermodel,
        objective=kt.Objective(OBJECTIVE, direction="max"),
        seed=seed,
        max_retries_per_trial=tuner_cfg.max_retries_per_trial,
        max_consecutive_failed_trials=tuner_cfg.max_consecutive_failed_trials,
        directory=str(directory),
        project_name=project_name,
        overwrite=overwrite,
    )
    name = tuner_cfg.name
    if name == "random":
        tuner = RandomSearch(max_trials=tuner_cfg.max_trials, **common)
    elif name == "grid":
        tuner = GridSearch(max_trials=tuner_cfg.max_trials, **common)
    elif name == "bayesian":
        tuner = BayesianOptimization(
            max_trials=tuner_cfg.max_trials,
            num_initial_points=tuner_cfg.num_initial_points,
            alpha=tuner_cfg.alpha,
            beta=tuner_cfg.beta,
            **common,
        )
    elif name == "hyperband":
        tuner = Hyperband(
            max_epochs=epochs,
            factor=tuner_cfg.factor,
            hyperband_iterations=tuner_cfg.hyperband_iterations,
            **common,
        )
        # Hyperband sizes its own brackets; max_trials still caps the number of trials.
        tuner.oracle.max_trials = tuner_cfg.max_trials
    else:  # validated at start-up; kept for a clear message if called directly
        raise ValueError(f"unknown tuner {name!r}")
    tuner.tracking = tracking
    tuner.epoch_seconds = {}
    return tuner
