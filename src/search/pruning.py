"""Pruning: a hopeless trial stopped early, judged from every trial's val_accuracy per epoch.

keras-tuner has no pruning beyond Hyperband's brackets, and its oracle hears a trial's metrics
only once the trial is over. Here each epoch's metrics go to the oracle (`report_epoch`), as
keras-tuner 1.0 did and as its own comment in `Oracle.update_trial` plans ("to signal early
stopping, set Trial.status to STOPPED"): the oracle keeps every trial's curve in its state
(saved with each trial, so a resumed search still has them), and `attach` makes its
`update_trial` answer STOPPED when the pruner says so. In a distributed search the workers
report to the chief's oracle, so the decision is made from every trial the chief has recorded.

The rules compare a trial's best val_accuracy so far with the other trials' best up to the same
epoch (the best so far, not the epoch's own value: one noisy epoch neither saves nor condemns):

- `median`: stopped if below the median of the others (Optuna's MedianPruner; Vizier's median
  stopping rule), from epoch `warmup` on, once `min_trials` others have reached that epoch;
- `asha`: asynchronous successive halving (Li et al., 2020). Rungs at `warmup`, `warmup` x
  `reduction`, ... epochs; at a rung a trial goes on only if it is among the top 1/`reduction`
  of the trials that reached it (at least the best one), once `min_trials` others have.
"""

from __future__ import annotations

import copy
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from src.model import OBJECTIVE

# Imported inside functions: keras-tuner loads only where a pruner judges a trial.

STOPPED = "STOPPED"
# The oracle's record of a pruned trial: a metric of the trial, so it is saved with the
# oracle's state and crosses gRPC like the others.
PRUNED_AT = "pruned_at_epoch"


@dataclass(frozen=True)
class Pruner:
    name: str  # median or asha
    warmup: int = 2
    min_trials: int = 3
    reduction: int = 3

    def rung(self, epochs_done: int) -> bool:
        """Whether a trial is judged once it has trained `epochs_done` epochs."""
        if epochs_done < self.warmup:
            return False
        if self.name == "median":
            return True
        rung = self.warmup
        while rung < epochs_done:
            rung *= self.reduction
        return rung == epochs_done

    def should_stop(self, mine: Sequence[float], others: Sequence[Sequence[float]]) -> bool:
        """Whether the trial whose objective so far is `mine` (one value per epoch) stops, given
        the other trials' values per epoch."""
        done = len(mine)
        if not self.rung(done):
            return False
        peers = [max(values[:done]) for values in others if len(values) >= done]
        if len(peers) < self.min_trials:
            return False
        best = max(mine)
        if self.name == "median":
            return best < statistics.median(peers)
        ranked = sorted([*peers, best], reverse=True)
        keep = max(len(ranked) // self.reduction, 1)
        return best < ranked[keep - 1]


def from_config(tuner_cfg) -> Pruner | None:
    name = str(getattr(tuner_cfg, "pruner", "none"))
    if name == "none":
        return None
    return Pruner(
        name,
        tuner_cfg.pruner_warmup,
        tuner_cfg.pruner_min_trials,
        tuner_cfg.pruner_reduction,
    )


def pruned_at(trial) -> int | None:
    """The epoch a trial was pruned after, or None."""
    if not trial.metrics.exists(PRUNED_AT):
        return None
    return int(trial.metrics.get_last_value(PRUNED_AT))


def curve(trial) -> list[float]:
    """A trial's objective per epoch, as reported to the oracle (epochs in order)."""
    if not trial.metrics.exists(OBJECTIVE):
        return []
    return [obs.mean() for obs in trial.metrics.get_history(OBJECTIVE)]


def attach(oracle, pruner: Pruner | None) -> None:
    """Make `oracle.update_trial` keep each epoch once and answer STOPPED to a pruned trial.
    A distributed worker's oracle is the chief's, behind a client: nothing to attach there."""
    import keras_tuner as kt

    if not isinstance(oracle, kt.Oracle):
        return
    original = oracle.update_trial
    # The chief's gRPC threads report at once. keras-tuner's own lock (`synchronized`) is not
    # released when the function it guards raises, which would hang every worker: a lock of
    # our own, released whatever happens.
    lock = threading.RLock()

    def update_trial(trial_id, metrics, step=0):
        with lock:
            trial = oracle.trials[trial_id]
            _forget_from(trial, step)  # a trial trained again from `step`: its later epochs go
            stop = pruner is not None and OBJECTIVE in metrics and _judged(oracle, trial, metrics)
            trial = original(trial_id, {**metrics, PRUNED_AT: step} if stop else metrics, step)
        if not stop:
            return trial
        answer = copy.copy(trial)  # the oracle's own record stays RUNNING until the trial ends
        answer.status = STOPPED
        return answer

    def _judged(oracle, trial, metrics) -> bool:
        # Peers: trials that ended normally or still run, not those that failed (a NaN trial
        # at chance would pull the median down).
        others = [
            curve(t)
            for t in list(oracle.trials.values())
            if t is not trial and t.status in ("COMPLETED", "RUNNING")
        ]
        return pruner.should_stop([*curve(trial), metrics[OBJECTIVE]], others)

    update_trial.unjudged = original  # epochs of trials trained elsewhere (warm_start.py)
    oracle.update_trial = update_trial


def _forget_from(trial, step: int) -> None:
    for name, history in list(trial.metrics.metrics.items()):
        kept = [obs for obs in history.get_history() if obs.step < step]
        if len(kept) < len(history.get_history()):
            fresh = type(history)(history.direction)
            for obs in kept:
                fresh.update(obs.value, step=obs.step)
            trial.metrics.metrics[name] = fresh


def report_epoch(oracle, trial, epoch: int, metrics: dict[str, float]) -> bool:
    """Hand the oracle an epoch's metrics; True if the trial is to stop (pruned)."""
    if OBJECTIVE not in metrics:
        return False
    answer = oracle.update_trial(trial.trial_id, metrics, step=epoch)
    return getattr(answer, "status", None) == STOPPED
