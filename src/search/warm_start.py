"""A search that starts from what is known: `tuner.warm_start=SWEEP` (an id, `latest`,
`latest~N`) hands this job's oracle the finished trials of an earlier sweep.

An earlier trial is reused when it was trained the same way (the same loss, model family, data,
data limit, validation fraction, epochs, seed and precision: `SAME`) and its hyperparameters lie
inside this job's space (each value one the space can draw). It is then a COMPLETED trial of
this search, with its scores per epoch, its time and its cost, and it is not trained again:

- random and Bayesian search get the reused trials before their first trial: a random search
  never draws their values again, a Bayesian one fits its Gaussian process to their scores
  from the start, and the pruner compares new trials with their curves;
- a grid search walks its grid in its own order; a point of it an earlier trial holds is
  answered from that trial's record instead of trained (`answer`).

`tuner.max_trials` counts every trial of the search, the reused ones included: widening a space
or adding trials means raising it. What was reused is kept in the tuner's folder
(`warm_start.json`), so a resumed job knows it; the job run is tagged with the sweep it started
from, and the summary counts the trials reused and those left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
from keras_tuner.engine.hyperparameters import Boolean, Choice, Fixed, Float, Int

from src.model import OBJECTIVE
from src.search.trials import take_figures
from src.tracking.store import as_param

# The settings a reused trial must share with this job: same training, comparable scores.
SAME = ("loss", "model", "data", "data_limit", "epochs", "seed", "precision")
FILE = "warm_start.json"


@dataclass
class WarmStart:
    """What an earlier sweep gave this search."""

    sweep_id: str
    # Earlier trials that fit, as `{"values", "run_id", "metrics", "curves"}`, not yet reused.
    known: list[dict] = field(default_factory=list)
    # This search's trial id -> the earlier trial record it reuses.
    reused: dict[str, dict] = field(default_factory=dict)
    outside: int = 0  # trained the same way, with a value outside this job's space
    unlike: int = 0  # trained another way (another loss, family, data, epochs ...)

    def save(self, folder: Path) -> None:
        (folder / FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, folder: Path) -> WarmStart | None:
        path = folder / FILE
        return cls(**json.loads(path.read_text())) if path.exists() else None


def _inside(hp, text: str):
    """The value of `hp` the recorded `text` stands for, or None if `hp` cannot take it."""
    if isinstance(hp, Fixed):
        return hp.value if str(hp.value) == text else None
    if isinstance(hp, Boolean):
        return {"True": True, "False": False}.get(text)
    if isinstance(hp, Choice):
        return next((v for v in hp.values if str(v) == text), None)
    try:
        number = float(text)
    except ValueError:
        return None
    if not hp.min_value - 1e-12 <= number <= hp.max_value + 1e-12:
        return None
    if isinstance(hp, Int):
        if number != int(number) or (hp.step and (int(number) - hp.min_value) % hp.step):
            return None
        return int(number)
    if isinstance(hp, Float) and hp.step:
        if hp.sampling == "log":  # steps multiply
            steps = math.log(number / hp.min_value) / math.log(hp.step)
        else:
            steps = (number - hp.min_value) / hp.step
        if not math.isclose(steps, round(steps), abs_tol=1e-9):
            return None
    return number


def fit(space: kt.HyperParameters, params: dict[str, str]) -> dict | None:
    """An earlier trial's recorded values as values of this `space` (the active ones), or None
    when one is missing or outside it."""
    hps = kt.HyperParameters()
    for hp in space.space:
        hps.merge([hp])
        if not hps.is_active(hp):
            continue
        if hp.name not in params or (value := _inside(hp, params[hp.name])) is None:
            return None
        hps.values[hp.name] = value
    return dict(hps.values)


def sort(
    earlier: dict, space: kt.HyperParameters, hypermodel, fixed: dict, val_fraction: float
) -> WarmStart:
    """The earlier sweep's trials (src/tracking/sweeps.py `earlier_trials`) this job may reuse:
    trained the same way (`SAME`, the validation fraction, every model and training argument
    this job would give those values, not pruned) and inside this job's space."""
    found = WarmStart(earlier["sweep_id"])
    for trial in earlier["trials"]:
        params = trial["params"]
        alike = all(params.get(k) == str(fixed[k]) for k in SAME) and not trial.get("pruned")
        alike = alike and _number(trial.get("val_fraction")) == val_fraction
        values = fit(space, params) if alike else None
        if not alike or (
            values is not None and not _trained_alike(space, hypermodel, values, params)
        ):
            found.unlike += 1
        elif values is None:
            found.outside += 1
        else:
            record = {k: trial[k] for k in ("run_id", "metrics", "curves")}
            found.known.append({"values": values, **record})
    return found


def _number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _trained_alike(space: kt.HyperParameters, hypermodel, values: dict, params: dict) -> bool:
    """Whether every argument these values resolve to in this job (its defaults included) is
    the one the earlier trial recorded (a learning-rate decay, a depth it did not search)."""
    hps = space.copy()
    hps.values = dict(values)
    resolved = hypermodel.values(hps)
    return all(params[k] == as_param(v) for k, v in resolved.items() if k in params)


def _epochs(record: dict) -> dict[int, dict[str, float]]:
    """A record's validation metrics by epoch."""
    by_epoch: dict[int, dict[str, float]] = {}
    for key, points in record["curves"].items():
        for step, value in points:
            by_epoch.setdefault(int(step), {})[key] = value
    return {e: m for e, m in sorted(by_epoch.items()) if OBJECTIVE in m}


def give(tuner, warm: WarmStart) -> None:
    """Random and Bayesian search: every known trial becomes a COMPLETED trial of the oracle
    (its values recorded as tried, its scores per epoch as reported), before the first new one."""
    oracle = tuner.oracle
    oracle.max_trials = max(oracle.max_trials, len(warm.known))
    # keras-tuner's display would print each one, timed from a start it never saw.
    verbose, oracle.verbose = oracle.verbose, 0
    try:
        for record in warm.known:
            warm.reused[_give_one(tuner, record)] = record
    finally:
        oracle.verbose = verbose
    warm.known = []


def _report(oracle, trial_id: str, record: dict) -> None:
    """An earlier trial's epochs to the oracle, for the record: the pruner does not judge
    them (src/search/pruning.py keeps keras-tuner's own `update_trial` as `unjudged`)."""
    update = getattr(oracle.update_trial, "unjudged", oracle.update_trial)
    for epoch, metrics in _epochs(record).items():
        update(trial_id, metrics, step=epoch)


def _give_one(tuner, record: dict) -> str:
    """One earlier trial as a COMPLETED trial of the oracle; its id in this search."""
    oracle = tuner.oracle
    # keras-tuner's own trial ids: the count so far, zero-padded to max_trials' digits.
    trial_id = f"{len(oracle.trials):0{len(str(oracle.max_trials))}d}"
    hps = oracle.get_space()
    hps.values = dict(record["values"])
    trial = kt.engine.trial.Trial(hyperparameters=hps, trial_id=trial_id, status="RUNNING")
    oracle.trials[trial_id] = trial
    oracle.start_order.append(trial_id)
    _report(oracle, trial_id, record)
    trial.status = kt.engine.trial.TrialStatus.COMPLETED
    oracle.end_trial(trial)
    take_figures(tuner, trial_id, record["metrics"])
    return trial_id


def answer(tuner, trial, warm: WarmStart) -> list | None:
    """The earlier trial holding this trial's values, as keras-tuner takes a trial's result
    (its history: each epoch reported, the best epoch chosen), or None. A grid search meets
    the known points on its walk; a Bayesian one may propose a reused trial's values again."""
    values = dict(trial.hyperparameters.values)
    known = [*warm.known, *warm.reused.values()]
    record = next((r for r in known if r["values"] == values), None)
    if record is None:
        return None
    history = keras.callbacks.History()
    epochs = _epochs(record)
    _report(tuner.oracle, trial.trial_id, record)
    history.epoch = list(epochs)
    history.history = {k: [m.get(k) for m in epochs.values()] for k in (OBJECTIVE, "val_loss")}
    if record in warm.known:
        warm.known.remove(record)
    warm.reused[trial.trial_id] = record
    warm.save(Path(tuner.project_dir))
    take_figures(tuner, trial.trial_id, record["metrics"])
    return [history]


def begin(tuner, earlier: dict | None, fixed: dict, val_fraction: float) -> WarmStart | None:
    """This job's warm start: a new search's from the earlier sweep's trials (`earlier`), a
    resumed one's from its folder. Random and Bayesian search get the known trials now."""
    folder = Path(tuner.project_dir)
    if earlier is None:  # resumed: what it reused is in its folder
        warm = WarmStart.load(folder)
        for trial_id, record in warm.reused.items() if warm else ():
            take_figures(tuner, trial_id, record["metrics"])
        return warm
    warm = sort(earlier, tuner.oracle.get_space(), tuner.hypermodel, fixed, val_fraction)
    if not isinstance(tuner.oracle, kt.oracles.GridSearchOracle):
        give(tuner, warm)
    warm.save(folder)  # before the oracle's state, which holds the reused trials
    tuner.oracle.save()
    return warm


def reused_runs(tuner) -> dict[str, str]:
    """The search's trials an earlier sweep ran: this search's trial id -> that run's id."""
    warm = getattr(tuner, "warm", None)
    return {t: r["run_id"] for t, r in warm.reused.items()} if warm else {}
