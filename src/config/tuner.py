"""How a job searches: the tuner, its budget, its failure policy and its pruning (`tuner.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omegaconf import MISSING


class TunerName(StrEnum):
    random = "random"
    bayesian = "bayesian"
    hyperband = "hyperband"
    grid = "grid"


class PrunerName(StrEnum):
    none = "none"
    # Stop a trial whose best val_accuracy so far is below the median of the earlier trials'
    # at the same epoch (Optuna's MedianPruner; Google Vizier's median stopping rule).
    median = "median"
    # Asynchronous successive halving (Li et al. 2020): at each rung (warm-up x reduction^k
    # epochs) a trial goes on only if it is in the top 1/reduction of the trials that reached it.
    asha = "asha"


@dataclass
class TunerConfig:
    name: TunerName = MISSING
    # Trials per job. 10 random trials find a model within ~1 point of the space's best.
    max_trials: int = 10
    # Tuner state folder; None keeps it beside the SQLite store (<store>/tuner), else ./tuner.
    dir: str | None = None
    # keras-tuner's retry budget for a trial that crashed (not for NaN losses: those fail at once).
    max_retries_per_trial: int = 0
    # Stop the job when this many trials in a row fail: the space or the setup is broken.
    max_consecutive_failed_trials: int = 3
    # A trial whose process died this many times (OOM killer, kill -9, reboot) is recorded
    # FAILED on the next start instead of being run again: a crash loop must end.
    max_crashes_per_trial: int = 3
    # Minutes after which no new trial starts (the running one finishes; None: no limit).
    max_minutes: float | None = None
    # Stop hopeless trials early, from the val_accuracy of each epoch (src/search/pruning.py).
    # A pruned trial counts as a trial; it keeps its best epoch and its run says where it stopped.
    pruner: PrunerName = PrunerName.none
    # Epochs every trial trains before it may be pruned (ASHA: the first rung).
    pruner_warmup: int = 2
    # Trials that must have reached an epoch before a trial is judged there.
    pruner_min_trials: int = 3
    # ASHA keeps the top 1/reduction of the trials at each rung.
    pruner_reduction: int = 3
    # Start from an earlier sweep's finished trials (its id, latest or latest~N): those trained
    # the same way and inside this space are known to the search and not trained again
    # (src/search/warm_start.py). max_trials counts them.
    warm_start: str | None = None


@dataclass
class BayesianTunerConfig(TunerConfig):
    # Random trials before the Gaussian process takes over; None = keras-tuner's default (3 x dims).
    num_initial_points: int | None = None
    alpha: float = 1e-4
    beta: float = 2.6


@dataclass
class HyperbandTunerConfig(TunerConfig):
    # Keep the best 1/factor of the models at each round of successive halving.
    factor: int = 3
    hyperband_iterations: int = 1
