"""keras-tuner, extended through its own hooks to record every trial in MLflow.

The HyperModel owns the search space, keras-tuner's oracles own the algorithm and the trials'
life cycle, and `TrackedTuner` adds tracking in `run_trial` (one MLflow run per trial, opened
and closed around the training) and in `on_epoch_begin/end` (one batch of metrics per epoch).
Nothing here is a callback handed to `search()`, so nothing needs to survive a deep copy.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

import keras
import keras_tuner as kt

from src import runtime
from src.model import OBJECTIVE
from src.runtime import signals, timings
from src.search import kt_private, pruning, resume, warm_start
from src.search.hypermodel import SoftmaxHyperModel
from src.search.progress import JobProgress
from src.search.resumable import ResumableTrials
from src.search.trial_runs import EPOCH_METRICS, run_tracked_trial
from src.search.trials import TrialTracking, checked, report_trial_ended, store_loss_is_fatal

log = logging.getLogger(__name__)

# keras-tuner prints the traceback of every failed trial; each failed trial run carries it in
# MLflow instead (error.txt), and the job's summary lists the reasons.
kt_private.quiet()


class TrackedTuner(ResumableTrials):
    """Mixin over a keras-tuner Tuner class: records each trial as a nested MLflow run and keeps
    the job's progress file current. Its collaborators come with its construction: `tracking`
    (None: untracked; its job run is bound once opened, src/search/trials.py), `progress` (None:
    no progress file) and `max_minutes` (the search's time budget, from its start)."""

    # Mean seconds per epoch of each trial (a resumed job fills in its earlier trials).
    epoch_seconds: dict[str, float]
    # What each trial's model costs to serve (src/model/cost.py), as its run records it.
    costs: dict[str, dict[str, float]]
    # tuner.max_minutes: no trial starts after this time.monotonic() (at least one always runs).
    deadline: float | None = None
    # Why the search ended before its trials were done ("time_budget"), or None.
    stopped_by: str | None = None
    # The epoch the pruner stopped the current trial after (src/search/pruning.py), or None.
    pruned_at: int | None = None
    # What an earlier sweep gave this search (tuner.warm_start), or None.
    warm: warm_start.WarmStart | None = None
    _started_here = 0

    def __init__(
        self,
        *args,
        tracking: TrialTracking | None = None,
        progress: JobProgress | None = None,
        max_minutes: float | None = None,
        **kwargs,
    ):
        self.tracking, self.progress, self.max_minutes = tracking, progress, max_minutes
        self.epoch_seconds, self.costs = {}, {}
        super().__init__(*args, **kwargs)

    def on_search_begin(self):
        super().on_search_begin()
        if self.max_minutes is not None:  # the budget runs from the search's start
            self.deadline = time.monotonic() + 60 * self.max_minutes
            if self.progress is not None:
                self.progress.budget(time.time() + 60 * self.max_minutes)

    def pre_create_trial(self):
        super().pre_create_trial()
        if self.deadline is not None and self._started_here and time.monotonic() >= self.deadline:
            self.stopped_by = "time_budget"
            raise BudgetSpent
        self._started_here += 1

    def run_trial(self, trial, *args, **kwargs):
        self._epoch_times: list[float] = []
        self.pruned_at = None
        if self.warm is not None and (known := warm_start.answer(self, trial, self.warm)):
            return known  # an earlier sweep's trial holds these values (grid search)
        # Raw hp values (e.g. learning_rate_sgd) and the model arguments they resolve to (one
        # learning_rate column whatever the optimizer), plus the settings all trials share.
        resolved = self.hypermodel.values(trial.hyperparameters.copy())
        fixed = self.tracking.fixed_params if self.tracking else {}
        params = {**trial.hyperparameters.values, **resolved, **fixed}
        self.find_resume_point(trial, {**params, **self.hypermodel.settings(kwargs["epochs"])})
        train = functools.partial(super().run_trial, trial, *args, **kwargs)
        if self.tracking is None:
            with signals.interrupt_wins():  # cut short, not failed: a resume runs it again
                return checked(train())
        with store_loss_is_fatal():
            return run_tracked_trial(self, trial, params, lambda: checked(train()))

    def on_trial_begin(self, trial):
        self._before_trial = runtime.trial_snapshot()
        super().on_trial_begin(trial)
        if self.progress is not None:
            self.progress.trial_started(trial.trial_id, len(self.oracle.trials))

    def on_trial_end(self, trial):
        if trial.status in ("COMPLETED", "FAILED", "INVALID"):  # over: nothing to resume
            resume.clear(Path(self.get_trial_dir(trial.trial_id)))
        if getattr(self, "_epoch_times", None):
            self.epoch_seconds[trial.trial_id] = sum(self._epoch_times) / len(self._epoch_times)
        try:
            super().on_trial_end(trial)
        finally:
            getattr(self.hypermodel, "take_trained", lambda: None)()  # frees its graphs
            runtime.release_trial(self._before_trial)
        if self.progress is not None:
            report_trial_ended(
                self.progress, self.oracle, self.hypermodel, trial, self.pruned_at is not None
            )

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        self._epoch_started = time.perf_counter()
        timings.mark("first_epoch_started")
        if epoch == 0 and getattr(self, "_last_epoch_ended", None) is not None:
            # Recording a trial, building and compiling the next: a trial's cost beside epochs.
            timings.add_cost("between_trials", self._epoch_started - self._last_epoch_ended)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        self._last_epoch_ended = time.perf_counter()
        seconds = self._last_epoch_ended - self._epoch_started
        self._epoch_times.append(seconds)
        timings.mark("first_epoch_ended")
        metrics = {k: float(v) for k, v in (logs or {}).items() if k in EPOCH_METRICS}
        # Every epoch reaches the oracle (the pruner's evidence, saved with the search's state).
        if pruning.report_epoch(self.oracle, trial, epoch, metrics):
            self.pruned_at, model.stop_training = epoch, True
        with timings.cost("resume_point"):  # before the epoch's metrics are handed over
            self.save_resume_point(model, epoch, metrics)
        if self.progress is not None:
            self.progress.epoch_ended(epoch)
        if self.tracking is None or self.tracking.current_run_id is None:
            return
        metrics["epoch_time"] = seconds
        self.tracking.tracker.log_metrics(self.tracking.current_run_id, metrics, step=epoch)


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
    tracking: TrialTracking | None = None,
    progress: JobProgress | None = None,
    max_minutes: float | None = None,
) -> kt.Tuner:
    """The keras-tuner tuner named by `tuner_cfg.name`, with what records its trials and the
    time budget of its own search (`max_minutes`)."""
    common = dict(
        tracking=tracking,
        progress=progress,
        max_minutes=max_minutes,
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
        kt_private.bind_bayesian_dependencies()
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
    pruning.attach(tuner.oracle, pruning.from_config(tuner_cfg))
    return tuner
