"""What a job's chief and its workers set up alike: data, space, tracker, HyperModel, state
location; and keras-tuner's search call with its failure policy."""

from __future__ import annotations

import gc
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from src import data
from src.config.schema import Config, TrackingConfig
from src.errors import JobFailed
from src.job.preflight import Plan
from src.model import precision
from src.runtime import signals, timings
from src.search import space, state
from src.tracking import NullTracker, Recorder, RemoteTracker

# Imported inside functions: Keras, keras-tuner and the tuners load after the checks and
# TensorFlow's own import (src/job/run.py), so bad input never loads them.

_JOBS_PREPARED = itertools.count()  # in this process (Hydra's basic launcher runs several)


@dataclass
class PreparedJob:
    """What a job's chief and its workers set up alike."""

    dataset: data.Dataset
    search_space: space.Space
    key: str
    root: Path
    project: str
    tracker: Recorder
    hypermodel: object

    def tuner(self, cfg: Config, overwrite: bool, tracking=None, progress=None, budget=True):
        """The job's keras-tuner tuner over its state folder (`overwrite`: start afresh), with
        what records its trials (src/search/tuners.py); `budget`: it keeps `tuner.max_minutes`
        itself (a distributed worker does not: its chief's oracle does)."""
        from src.search.tuners import make_tuner

        return make_tuner(
            cfg.tuner,
            self.hypermodel,
            cfg.train.epochs,
            cfg.train.seed,
            self.root,
            self.project,
            overwrite=overwrite,
            tracking=tracking,
            progress=progress,
            max_minutes=cfg.tuner.max_minutes if budget else None,
        )


def open_tracker(cfg: Config) -> Recorder:
    """Where the job's runs go: a tracking process of its own (started now, ready by the time
    training starts), or nowhere (`tracking.enabled=false`)."""
    if not cfg.tracking.enabled:
        return NullTracker()
    return RemoteTracker(*tracking_settings(cfg.tracking))


def tracking_settings(t: TrackingConfig) -> list:
    """A job's `RemoteTracker` arguments: its store and how to write to it."""
    return [t.uri, t.experiment, t.asynchronous, t.max_outage_seconds, t.spill_dir]


def prepare(plan: Plan, tracker: Recorder) -> PreparedJob:
    import keras

    from src.search.hypermodel import SoftmaxHyperModel

    cfg = plan.cfg
    dataset = data.load_from_config(cfg.data, cfg.train.seed)
    search_space = plan.space
    key = state.search_key(cfg, plan.space)
    # Nothing carried over from a previous job in this process, whose garbage is collected
    # then; a fresh process has none (the collection walks all TensorFlow's objects: 0.1 s).
    keras.backend.clear_session(free_memory=next(_JOBS_PREPARED) > 0)
    state.install_safe_state_io()
    if cfg.tracking.enabled:
        tracker.experiment_id  # noqa: B018 - waits until the store is open (or raises)
    timings.mark("tracker_ready")
    hypermodel = SoftmaxHyperModel(
        search_space,
        plan.family,
        cfg.loss.name,
        cfg.train.seed,
        cfg.train.steps_per_execution,
        cfg.train.jit_compile,
        precision.resolve(cfg.train.precision, onednn=cfg.train.onednn),
        image_shape=dataset.x_train.shape[1:],
        num_classes=len(dataset.class_names),
    )
    root, project = state.tuner_root(cfg.tuner.dir, cfg.tracking.uri), state.project_name(cfg, key)
    return PreparedJob(dataset, search_space, key, root, project, tracker, hypermodel)


def search(tuner, cfg: Config, dataset: data.Dataset) -> None:

    from src.search.trials import StoreLost
    from src.search.tuners import BudgetSpent

    # keras-tuner and Keras call gc.collect() several times per trial to free the last model;
    # each call walked every object TensorFlow, MLflow and the data had created (0.4 s each,
    # ~1.6 s per trial). Freezing what exists now leaves the collector only the trials' objects.
    gc.collect()  # what earlier jobs of this process left is freed, not frozen
    gc.freeze()
    try:
        with signals.interrupt_wins():  # disguised, e.g. in create_trial: KILLED, not FAILED
            tuner.search(**training_data(cfg, dataset), callbacks=callbacks(cfg))
    except BudgetSpent:
        tuner.on_search_end()  # the trials done are saved; a rerun goes on with the others
    except KeyboardInterrupt:
        tuner.save()  # the trial in progress stays queued: the next start runs it again
        raise
    except StoreLost as exc:
        tuner.save()  # as for Ctrl-C: a rerun runs the trial in progress again
        raise exc.__cause__ from None
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc):
            raise
        last = [line for line in str(exc).splitlines() if line.strip()][-1].strip()
        last = re.sub(r"^[\w.]+\.(\w+: )", r"\1", last)  # drop the exception's module path
        raise JobFailed(
            f"stopped after {cfg.tuner.max_consecutive_failed_trials} trials failed in a row "
            f"(last: {last}); check the search space"
        ) from None


def training_data(cfg: Config, dataset: data.Dataset) -> dict:
    """What every training of the job fits on, trials and repeats alike: the training images,
    the validation split, the epochs (`model.fit`'s arguments)."""
    one_hot = cfg.loss.name == "categorical"
    return {
        "x": dataset.x_train,
        "y": dataset.labels("train", one_hot),
        "validation_data": (dataset.x_val, dataset.labels("val", one_hot)),
        "epochs": cfg.train.epochs,
        "validation_batch_size": cfg.train.eval_batch_size,
        "verbose": 0,
    }


def callbacks(cfg: Config) -> list:
    """What every training of the job gets: stop on NaN, on a signal, early stopping."""
    import keras

    from src.model import OBJECTIVE
    from src.search.tuners import StopOnSignal

    found = [keras.callbacks.TerminateOnNaN(), StopOnSignal()]
    if cfg.train.early_stopping_patience > 0:
        # keras-tuner keeps each trial's best epoch (its checkpoint), whatever epoch it stops at.
        found.append(
            keras.callbacks.EarlyStopping(
                monitor=OBJECTIVE, mode="max", patience=cfg.train.early_stopping_patience
            )
        )
    return found
