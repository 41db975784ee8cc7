"""The job's result types, apart from any behaviour: what a job produced (`JobResult`, with its
`Repeat`s and what `Mattered`) and how it ended (`JobOutcome`).

A leaf: every reader of a result (the closing summary, the study, a comparison, the sweeper, a
notebook) imports these plain dataclasses without importing what made them (the job's
recording, src/job/best.py) or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from src.model.classifier import OBJECTIVE


@dataclass(frozen=True)
class Mattered:
    """A job's importances, the variance they split, and its Pareto front."""

    # Each varied hyperparameter's share of val_accuracy's variance, largest first (sum 1).
    importance: dict[str, float] = field(default_factory=dict)
    # The variance of val_accuracy over the finished trials (what the shares split).
    variance: float = 0.0
    # The trials on the front of val_accuracy against pareto.COST, cheapest first.
    front: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Repeat:
    """The job's best configuration retrained with one training seed (study.repeats)."""

    seed: int
    val_accuracy: float  # at its best epoch
    test_accuracy: float  # of its best epoch's weights: reported, never used to choose
    epoch_time: float  # mean seconds per epoch
    peak_memory_mb: float  # the process's peak resident memory while it trained

    @classmethod
    def from_metrics(cls, seed: int, metrics: dict[str, float]) -> Repeat:
        return cls(seed, **{name: metrics[key] for name, key in REPEAT_METRICS.items()})


# Each field of a Repeat (seed aside) and the metric its run records it as.
REPEAT_METRICS = {
    "val_accuracy": f"best_{OBJECTIVE}",
    "test_accuracy": "test_accuracy",
    "epoch_time": "mean_epoch_time",
    "peak_memory_mb": "peak_memory_mb",
}


@dataclass(frozen=True)
class JobResult:
    job: str
    loss: str
    run_id: str | None
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
    mean_val_accuracy: float
    mean_epoch_time: float | None
    peak_memory_mb: float
    # (trial id, reason) of every trial that failed, for the closing summary.
    failures: list[tuple[str, str]] = field(default_factory=list)
    # One row per trial: id, status, hyperparameters, val_accuracy, epoch time.
    rows: list[dict] = field(default_factory=list)
    # The hyperparameters the job's space varied, in declaration order (the summary's columns).
    searched: list[str] = field(default_factory=list)
    # Those of them sampled on a log scale.
    log_scaled: list[str] = field(default_factory=list)
    # Why the search ended before its trials were done: "time_budget" (tuner.max_minutes).
    stopped_by: str | None = None
    # Trials the pruner stopped early (tuner.pruner); they count among `trials`.
    pruned: int = 0
    # The study's studied settings and this job's value of each (the verdict compares jobs
    # that differ in them).
    studied: dict[str, str] = field(default_factory=dict)
    # The best configuration retrained with each of study.repeats seeds, in seed order.
    repeats: list[Repeat] = field(default_factory=list)
    # Each searched hyperparameter's importance and the Pareto front of accuracy against cost.
    mattered: Mattered = field(default_factory=Mattered)
    # tuner.warm_start: the sweep it started from, its reused trials' runs (this search's trial
    # id -> run id), and how many of that sweep's trials were left out.
    warm_start: dict = field(default_factory=dict)
    # A distributed search's workers: tuner id, host, log, restarts (src/search/chief.py).
    workers: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: FINISHED (with its result), FAILED (with the one-line reason) or
    KILLED (interrupted, or not started because the sweep was)."""

    job: str
    status: str
    error: str | None = None
    result: JobResult | None = None
    # Where its runs are: the `RemoteTracker` arguments (uri, experiment, ...) the job used.
    tracking: list | None = None

    @property
    def finished(self) -> bool:
        return self.status == "FINISHED"
