"""Which hyperparameters mattered: each one's share of how val_accuracy varied across trials.

Optuna's fANOVA evaluator (Hutter et al. 2014) fits a random forest to the finished trials
(hyperparameters -> val_accuracy) and splits the variance of its predictions into each
hyperparameter's share; the shares are normalised to sum to 1. It is the evaluator Optuna uses
by default, and it handles choices of words (an optimizer, a loss) and log-scaled ranges. It was
measured against scikit-learn's permutation importance on a random-forest surrogate (the same
trials) before it was chosen: see the docstring of `importances`.

A share says how much of the trials' spread a hyperparameter explains, not whether that spread
is more than noise. Each trial counts with its best val_accuracy as trained: a pruned trial's
(or a Hyperband trial's) from fewer epochs, so under a pruner part of a share is what made a
trial look hopeless early. Where the job retrained its best configuration with several seeds,
`noise` sets each share beside the seed-to-seed spread: a hyperparameter whose effect is inside
the 95% band of one trial's seed noise is within noise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from src.model import OBJECTIVE

# Imported inside functions: Optuna and scikit-learn (about 2 s of CPU) load once per command,
# at its close, and only with enough trials to weigh.

MIN_TRIALS = 5  # finished trials a job needs before its importances mean anything
SEED = 0  # the forest's: the same trials give the same importances
TREES = 64  # Optuna's default


def _numeric(values: Sequence) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _distribution(values: Sequence, log: bool):
    """Optuna's distribution of one hyperparameter, from the values the trials took."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if not _numeric(values):
        return CategoricalDistribution(sorted({str(v) for v in values}))
    low, high = min(values), max(values)
    log = log and low > 0
    if all(isinstance(v, int) for v in values) and (not log or low >= 1):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def varied(rows: Sequence[Mapping], names: Sequence[str]) -> list[str]:
    """Those of `names` every row has a value of, taking at least two values across rows."""
    return [
        name
        for name in names
        if all(r.get(name) is not None for r in rows) and len({str(r[name]) for r in rows}) > 1
    ]


def importances(
    rows: Sequence[Mapping], names: Sequence[str], log_scaled: set[str] = frozenset()
) -> dict[str, float]:
    """Each varied hyperparameter's share of val_accuracy's variance over the finished `rows`
    (a row: the hyperparameters and `val_accuracy` of one trial), largest first, summing to 1.
    Empty with fewer than MIN_TRIALS finished rows, nothing varied or no spread in scores.

    Chosen over scikit-learn's permutation importance on a random-forest surrogate (100 trees,
    10 repeats), measured on 12 trials of a known effect (optimizer > rate > width > a dummy):
    both ranked them in that order, fANOVA in 0.11 s against 0.37 s (plus 1.4 s to import
    Optuna, once); and fANOVA's shares are of variance, so they add up and can be set beside
    a seed's variance, where permutation importances are drops in the forest's R².
    """
    rows = [r for r in rows if r.get(OBJECTIVE) is not None and math.isfinite(r[OBJECTIVE])]
    names = varied(rows, names)
    if len(rows) < MIN_TRIALS or not names or len({r[OBJECTIVE] for r in rows}) < 2:
        return {}
    import optuna  # 1.4 s (scikit-learn's): only once there is something to weigh
    from optuna.distributions import CategoricalDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    dists = {n: _distribution([r[n] for r in rows], n in log_scaled) for n in names}
    worded = {n for n, d in dists.items() if isinstance(d, CategoricalDistribution)}
    for r in rows:
        params = {n: str(r[n]) if n in worded else r[n] for n in names}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=dists, value=r[OBJECTIVE])
        )
    evaluator = FanovaImportanceEvaluator(n_trees=TREES, seed=SEED)
    shares = get_param_importances(study, evaluator=evaluator)
    total = sum(shares.values())
    if not total > 0:
        return {}
    return {name: float(share / total) for name, share in shares.items()}


def spread(rows: Sequence[Mapping]) -> float:
    """The variance of val_accuracy over the finished trials."""
    scores = [r[OBJECTIVE] for r in rows if r.get(OBJECTIVE) is not None]
    return statistics.variance(scores) if len(scores) > 1 else 0.0


# A hyperparameter whose effect (the sd of val_accuracy it explains) is smaller than this many
# seed-to-seed sds is within noise: inside the 95% band of one trial's score under a change of
# seed, so no single trial can show it.
NOISE_BAND = 1.96


def within_noise(
    shares: Mapping[str, float], variance: float, seeds: Sequence[float]
) -> dict[str, bool]:
    """`noise` with the seed-to-seed sd of these repeats' scores; {} without two of them."""
    return noise(shares, variance, statistics.stdev(seeds)) if len(seeds) > 1 else {}


def noise(shares: Mapping[str, float], variance: float, seed_sd: float) -> dict[str, bool]:
    """Per hyperparameter, whether its effect is within seed noise: the sd of val_accuracy it
    explains (the square root of its share of the trials' `variance`) is less than NOISE_BAND
    seed-to-seed sds. fANOVA's share of a hyperparameter without effect is not 0: on the
    20 trials of sweep=loss_comparison the loss (identical results) got 0.003 to 0.013,
    depending on the trials' order, against 0.44 to 0.54 for the learning rate."""
    bound = (NOISE_BAND * seed_sd) ** 2
    return {name: share * variance < bound for name, share in shares.items()}


def across_jobs(results: Sequence) -> dict[str, float]:
    """The importances over every finished trial of a sweep's jobs (JobResults), with each
    job's loss and studied settings beside its hyperparameters: whether the loss mattered
    beside width and rate."""
    rows = [{"loss": r.loss, **row} for r in results for row in r.rows]
    names = ["loss"]
    for r in results:
        names += [k.removeprefix("search.") for k in r.studied] + list(r.searched)
    log_scaled = {name for r in results for name in r.log_scaled}
    return importances(rows, list(dict.fromkeys(names)), log_scaled)
