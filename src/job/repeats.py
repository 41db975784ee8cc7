"""After the search: the job's best configuration retrained with `study.repeats` training seeds.

The seeds are `study.repeat_seed`, +1, ...: the same in every job of a sweep, so jobs are
compared seed by seed. A seed sets the weights' initialisation and the shuffling; the validation
split stays the one `train.seed` (the search's seed) carved, the split the search chose on.
Each repeat trains for `train.epochs` with the trials' early stopping, keeps its best epoch's
weights (by val_accuracy) and scores them once on the test set, to report: nothing is chosen
by a repeat's test accuracy.

Each repeat is a run under the job's run (`run_kind=repeat`, its `seed` a param and a tag,
`repeat_of_trial` the trial whose configuration it retrains) with the trials' per-epoch
metrics. A rerun of the same command trains only the seeds without a FINISHED repeat of that
trial; a repeat a dead process left RUNNING is marked KILLED first (`killed_by=crash`) and
trained again. A repeat whose loss diverges is FAILED and left out of the statistics.
"""

from __future__ import annotations

import logging
import math
import time

import keras

from src import runtime
from src.config.schema import StudyConfig
from src.job.context import fixed_params
from src.job.preflight import Plan
from src.job.prepare import PreparedJob, callbacks, training_data
from src.model import OBJECTIVE, build_model, precision, scoring, split_values
from src.model.feeding import pipelines
from src.reporting.outcome import JobResult, Repeat
from src.runtime.memory import PeakMemory
from src.search.progress import JobProgress
from src.search.trials import NaNLossError
from src.tracking import Recorder

log = logging.getLogger("sweep")

EPOCH_METRICS = ("loss", "accuracy", "val_loss", OBJECTIVE)


def repeat_seeds(study: StudyConfig) -> list[int]:
    return [study.repeat_seed + i for i in range(study.repeats)]


def run_repeats(
    job: PreparedJob,
    plan: Plan,
    run_id: str | None,
    result: JobResult,
    name: str,
    progress: JobProgress | None = None,
) -> list[Repeat]:
    """The job's repeats in seed order: those recorded before, the others trained now."""
    tracker, seeds = job.tracker, repeat_seeds(plan.cfg.study)
    recorded: dict[int, Repeat | None] = {}
    if run_id is not None:
        killed = tracker.close_orphans(run_id, kind="repeat")
        if killed:
            log.info(
                "%s: repeat(s) of seed %s were cut short and run again", name, ", ".join(killed)
            )
        recorded = _recorded(tracker.child_runs(run_id, "repeat"), result.best_trial_id)
    todo = [seed for seed in seeds if seed not in recorded]
    if todo:
        log.info(
            "%s: retraining trial %s with %d seed(s) (%d recorded before)",
            name,
            result.best_trial_id,
            len(todo),
            len(seeds) - len(todo),
        )
    for number, seed in enumerate(todo, start=len(seeds) - len(todo) + 1):
        if progress is not None:
            progress.repeat_started(number, len(seeds))
        try:
            recorded[seed] = _train(job, plan, run_id, result, seed, progress)
        except NaNLossError:
            log.warning("%s: repeat of seed %d diverged (loss NaN); left out", name, seed)
            recorded[seed] = None
            continue
        r = recorded[seed]
        log.info(
            "%s: repeat of seed %d: %s %.4f, test_accuracy %.4f, %.3f s per epoch, %.0f MB",
            *(name, seed, OBJECTIVE, r.val_accuracy, r.test_accuracy),
            *(r.epoch_time, r.peak_memory_mb),
        )
    return [recorded[seed] for seed in seeds if recorded[seed] is not None]


def _recorded(runs: list, trial_id: str) -> dict[int, Repeat]:
    """The FINISHED repeats of trial `trial_id`'s configuration, by seed."""
    found = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):
        tags = run.data.tags
        if run.info.status == "FINISHED" and tags.get("repeat_of_trial") == trial_id:
            seed = int(tags["seed"])
            found[seed] = Repeat.from_metrics(seed, run.data.metrics)
    return found


def _train(job: PreparedJob, plan: Plan, run_id, result: JobResult, seed: int, progress):
    before = runtime.trial_snapshot()
    metrics = _fit_and_score(job, plan, run_id, result, seed, progress)
    # The model and everything holding it are gone with _fit_and_score's frame: what
    # TensorFlow still keeps of its traced graphs can be freed, as after a trial.
    runtime.release_trial(before)
    return Repeat.from_metrics(seed, metrics)


def _fit_and_score(job: PreparedJob, plan: Plan, run_id, result: JobResult, seed: int, progress):
    """Train one repeat in its run; its metrics, recorded."""
    cfg, data = plan.cfg, job.dataset
    one_hot = cfg.loss.name == "categorical"
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)  # initial weights and shuffling
    family, training = split_values(plan.family, result.best_hyperparameters)
    model = build_model(
        family,
        training,
        cfg.loss.name,
        data.x_train.shape[1:],
        len(data.class_names),
        cfg.train.steps_per_execution,
        cfg.train.jit_compile,
        precision.resolve(cfg.train.precision, onednn=cfg.train.onednn),
    )
    params = {**result.best_hyperparameters, **fixed_params(cfg), "search_seed": cfg.train.seed}
    tags = {"repeat_of_trial": result.best_trial_id}
    with job.tracker.repeat_run(run_id, seed, params, tags) as repeat_run_id:
        epochs = EpochRecorder(job.tracker, repeat_run_id, progress)
        fit = training.fit_arguments(cfg.train.epochs)
        fit["callbacks"] = [*callbacks(cfg), *fit["callbacks"], epochs]
        with PeakMemory() as memory:
            model.fit(**pipelines({**training_data(cfg, data), **fit}, seed))
        if any(not math.isfinite(v) for v in epochs.history["loss"]):
            raise NaNLossError("loss became NaN or infinite")
        model.set_weights(epochs.best_weights)
        labels = data.labels("test", one_hot)
        test = scoring.score(model, data.x_test, labels, cfg.train.eval_batch_size)
        metrics = epochs.summary(cfg.train.epochs)
        metrics |= {"test_accuracy": test.accuracy, "test_loss": test.loss}
        metrics |= {"peak_memory_mb": memory.peak_mb, "memory_growth_mb": memory.growth_mb}
        job.tracker.log_metrics(repeat_run_id, metrics)
    return metrics


class EpochRecorder(keras.callbacks.Callback):
    """A repeat's per-epoch metrics and epoch times, as a trial's, and its best epoch's weights."""

    def __init__(self, tracker: Recorder, run_id: str | None, progress: JobProgress | None = None):
        super().__init__()
        self.tracker, self.run_id, self.progress = tracker, run_id, progress
        self.history: dict[str, list[float]] = {key: [] for key in (*EPOCH_METRICS, "epoch_time")}
        self.best_epoch, self.best_weights = -1, None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        metrics = {k: float(v) for k, v in (logs or {}).items() if k in EPOCH_METRICS}
        metrics["epoch_time"] = time.perf_counter() - self._started
        for key, value in metrics.items():
            self.history[key].append(value)
        self.tracker.log_metrics(self.run_id, metrics, step=epoch)
        if self.progress is not None:
            self.progress.epoch_ended(epoch)
        scores = self.history[OBJECTIVE]
        if self.best_epoch < 0 or scores[-1] > scores[self.best_epoch]:
            self.best_epoch, self.best_weights = epoch, self.model.get_weights()

    def summary(self, planned: int) -> dict[str, float]:
        """The repeat's best epoch, its scores, and seconds per epoch."""
        best, times = self.best_epoch, self.history["epoch_time"]
        metrics = {
            f"best_{OBJECTIVE}": self.history[OBJECTIVE][best],
            "best_val_loss": self.history["val_loss"][best],
            "best_epoch": best,
            "mean_epoch_time": sum(times) / len(times),
        }
        if len(times) < planned:  # early stopping ended it
            metrics["stopped_epoch"] = len(times) - 1
        return metrics
