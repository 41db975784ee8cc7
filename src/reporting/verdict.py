"""A study's answer: per job the statistics of its repeats, between jobs the paired differences,
and one plain sentence per studied quantity.

The study decides what is compared (`study.studied` in the sweep file): the studied settings
whose values differ between the sweep's jobs name them (`loss` in sweep=loss_comparison: sparse
and categorical; `search.hidden_units` in sweep=width_lr: 64 to 512), and a studied
hyperparameter each job searches (width_lr's learning rate) is reported as each job's best
value. A sweep that names nothing studied (a plain multirun) compares its jobs by name.

"The same" or "different" is whether the 95% interval of the paired difference contains 0.
Accuracy in a sentence is test accuracy: the repeats' test accuracy is reported, never used to
choose anything (each job chose its configuration on val_accuracy before the repeats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from src.model import OBJECTIVE
from src.reporting import stats

if TYPE_CHECKING:
    from src.reporting.outcome import JobResult

# A Repeat's quantities: (its name in a report, its format).
QUANTITIES = {
    "val_accuracy": (OBJECTIVE, ".4f"),
    "test_accuracy": ("test accuracy", ".4f"),
    "epoch_time": ("s per epoch", ".3f"),
    "peak_memory_mb": ("peak memory (MB)", ".1f"),
}


@dataclass(frozen=True)
class Study:
    jobs: list[JobResult]  # those with repeats; by value when one numeric setting tells them apart
    labels: list[str]  # what tells each job apart
    compared: list[str]  # the studied settings whose values differ between the jobs
    within: list[str]  # studied hyperparameters each job searched


def study_of(results: list[JobResult]) -> Study | None:
    """What the finished jobs' repeats compare; None when no job has repeats."""
    jobs = [r for r in results if r.repeats]
    if not jobs:
        return None
    keys = list(jobs[0].studied)
    compared = [k for k in keys if len({j.studied.get(k) for j in jobs}) > 1]
    within = [
        k for k in keys if k not in compared and k.removeprefix("search.") in jobs[0].searched
    ]
    if len(compared) == 1:
        labels = [j.studied[compared[0]] for j in jobs]
        if all(_is_number(label) for label in labels):
            order = sorted(range(len(jobs)), key=lambda i: float(labels[i]))
            jobs, labels = [jobs[i] for i in order], [labels[i] for i in order]
    elif compared:
        labels = [" ".join(f"{k}={j.studied[k]}" for k in compared) for j in jobs]
    else:
        labels = [j.job for j in jobs]
    return Study(jobs, labels, compared, within)


def sentences(study: Study) -> list[str]:
    """One plain sentence per studied quantity (for one job: its own statistics)."""
    if len(study.jobs) == 1:
        return [_alone(study.labels[0], study.jobs[0])]
    found = [_pair(study) if len(study.jobs) == 2 else _trend(study)]
    return found + [_best_values(study, key) for key in study.within]


def _values(job: JobResult, quantity: str, seeds: list[int] | None = None) -> list[float]:
    return [getattr(r, quantity) for r in job.repeats if seeds is None or r.seed in seeds]


def _common(a: JobResult, b: JobResult) -> list[int]:
    """The seeds both jobs have repeats of (all of them, unless a repeat diverged)."""
    return sorted({r.seed for r in a.repeats} & {r.seed for r in b.repeats})


def difference(a: JobResult, b: JobResult, quantity: str, ratio: bool = False):
    """a - b (or a / b on the log scale: `ratio`) paired by seed; None without a common seed."""
    seeds = _common(a, b)
    if not seeds:
        return None
    test = stats.paired_ratio if ratio else stats.paired
    return test(_values(a, quantity, seeds), _values(b, quantity, seeds))


def _ci(estimate: stats.Estimate, fmt: str, scale=None) -> str:
    scale = scale or (lambda x: x)
    return f"95% CI [{scale(estimate.low):{fmt}}, {scale(estimate.high):{fmt}}]"


def _seeds(n: int) -> str:
    return "1 seed: no interval" if n == 1 else f"{n} seeds"


def _alone(label: str, job: JobResult) -> str:
    e = stats.describe(_values(job, "test_accuracy"))
    spread = f", {e.n} seeds; seed-to-seed spread {e.sd:.4f}" if e.has_interval else ""
    parts = [
        f"test accuracy {e.mean:.4f} ({_ci(e, '.4f')}{spread})"
        if spread
        else f"test accuracy {e.mean:.4f} (1 seed: no interval)"
    ]
    for quantity, template in (
        ("val_accuracy", f"{OBJECTIVE} {{}}"),
        ("epoch_time", "{} s per epoch"),
        ("peak_memory_mb", "peak memory {} MB"),
    ):
        fmt = QUANTITIES[quantity][1]
        e = stats.describe(_values(job, quantity))
        interval = f" ({_ci(e, fmt)})" if e.has_interval else ""
        parts.append(template.format(f"{e.mean:{fmt}}") + interval)
    return f"{label}: " + ", ".join(parts) + "."


def _pair(study: Study) -> str:
    (a, b), (la, lb) = study.jobs, study.labels
    if not _common(a, b):
        return _unpaired(la, lb)
    return (
        "; ".join(
            [_accuracy_clause(a, b, la, lb), _time_clause(a, b, la, lb), _memory_clause(a, b, la)]
        )
        + "."
    )


def _accuracy_clause(a: JobResult, b: JobResult, la: str, lb: str) -> str:
    diff = difference(a, b, "test_accuracy")
    e, seeds = diff.estimate, _common(a, b)
    sds = [stats.describe(_values(j, "test_accuracy", seeds)).sd for j in (a, b)]
    spread = (
        f"; seed-to-seed spread {math.sqrt((sds[0] ** 2 + sds[1] ** 2) / 2):.4f}"
        if None not in sds
        else ""
    )
    if diff.identical:
        return (
            f"{la} and {lb} reach identical test accuracy in every one of the "
            f"{_seeds(e.n)} (difference 0{spread})"
        )
    if not e.has_interval:
        return f"{la} and {lb} differ in test accuracy by {e.mean:+.4f} ({_seeds(e.n)})"
    detail = f"difference {e.mean:+.4f}, {_ci(e, '+.4f')}"
    if not diff.significant:
        return f"{la} and {lb} reach the same test accuracy ({detail}, {e.n} seeds{spread})"
    higher = "higher" if e.mean > 0 else "lower"
    return (
        f"{la} reaches a {higher} test accuracy than {lb} ({detail}, paired t-test "
        f"p = {diff.p:.2g}, {e.n} seeds{spread})"
    )


def _time_clause(a: JobResult, b: JobResult, la: str, lb: str) -> str:
    diff = difference(a, b, "epoch_time", ratio=True)
    e, rel = diff.estimate, stats.relative(diff.estimate.mean)
    if not e.has_interval:
        return f"{la} takes {rel:+.1%} time per epoch ({_seeds(e.n)})"
    if not diff.significant:
        return (
            f"{la} and {lb} take the same time per epoch ({la} {rel:+.1%}, "
            f"{_ci(e, '+.1%', stats.relative)})"
        )
    if rel < 0:
        low, high = -stats.relative(e.high), -stats.relative(e.low)
        return f"{la} is {-rel:.1%} faster per epoch (95% CI [{low:.1%}, {high:.1%}])"
    return f"{la} is {rel:.1%} slower per epoch ({_ci(e, '.1%', stats.relative)})"


def _memory_clause(a: JobResult, b: JobResult, la: str) -> str:
    diff = difference(a, b, "peak_memory_mb")
    e = diff.estimate
    if not e.has_interval:
        return f"{la} peaks {e.mean:+.1f} MB in memory ({_seeds(e.n)})"
    if not diff.significant:
        return f"the same peak memory ({la} {e.mean:+.1f} MB, {_ci(e, '+.1f')} MB)"
    higher = "higher" if e.mean > 0 else "lower"
    return f"{la} peaks {abs(e.mean):.1f} MB {higher} in memory ({_ci(e, '+.1f')} MB)"


def _trend(study: Study) -> str:
    """More than two jobs: test accuracy at each, and from the first to the last."""
    key = ", ".join(k.removeprefix("search.") for k in study.compared) or "job"
    parts = []
    for job, label in zip(study.jobs, study.labels, strict=True):
        e = stats.describe(_values(job, "test_accuracy"))
        interval = f" ({_ci(e, '.4f')})" if e.has_interval else ""
        parts.append(f"{e.mean:.4f} at {label}{interval}")
    first, last = study.jobs[0], study.jobs[-1]
    if not _common(first, last):
        return _unpaired(study.labels[0], study.labels[-1])
    diff = difference(last, first, "test_accuracy")
    e = diff.estimate
    if diff.identical:
        change = "it is identical in every seed"
    elif not e.has_interval:
        change = f"it changes by {e.mean:+.4f} ({_seeds(e.n)})"
    else:
        moves = ("rises" if e.mean > 0 else "falls") if diff.significant else "does not move"
        change = f"it {moves} by {e.mean:+.4f} ({_ci(e, '+.4f')}, paired by seed, {e.n} seeds)"
    time = difference(last, first, "epoch_time", ratio=True).estimate
    time_ci = f" ({_ci(time, '+.1%', stats.relative)})" if time.has_interval else ""
    return (
        f"Test accuracy by {key}: {', '.join(parts)}; from {study.labels[0]} to "
        f"{study.labels[-1]} {change}, and the time per epoch changes by "
        f"{stats.relative(time.mean):+.1%}{time_ci}."
    )


def _unpaired(la: str, lb: str) -> str:
    return (
        f"{la} and {lb} share no seed, so they cannot be compared seed by seed; give every job "
        "the same study.repeat_seed."
    )


def _best_values(study: Study, key: str) -> str:
    name = key.removeprefix("search.")
    values = [job.best_hyperparameters.get(name) for job in study.jobs]
    shown = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values]
    at = ", ".join(f"{v} at {label}" for v, label in zip(shown, study.labels, strict=True))
    moves = "stays" if len(set(shown)) == 1 else "moves"
    return (
        f"The best {name} {moves}: {at} (each chosen once by its job's search on "
        f"{OBJECTIVE}; the repeats retrain that value only, so it has no interval)."
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
