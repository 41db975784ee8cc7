"""Two sweeps compared, as read back from the store (src/tracking/sweeps.py): their best
validation and test accuracy, time and trials side by side, then a verdict.

Where the best job of each sweep retrained its configuration with the same seeds
(`study.repeats`, `study.repeat_seed`), the verdict is the study's (src/reporting/verdict.py):
differences paired by seed with 95% intervals. Otherwise it is unpaired, and says so: Welch's
interval for the difference between the mean val_accuracy of each sweep's top trials, which
tells a better search from a luckier one less sharply than seeds do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from src.model import OBJECTIVE
from src.reporting import verdict
from src.reporting.outcome import REPEAT_METRICS, Repeat
from src.reporting.verdict import Study

# Imported inside functions: SciPy loads only for an unpaired comparison's interval.

TOP = 5  # trials per sweep in an unpaired comparison


@dataclass(frozen=True)
class Side:
    """One sweep as the comparison sees it: its best job's repeats (verdict.py reads them)."""

    sweep_id: str
    label: str
    jobs: list[dict]
    trials: list[dict]
    best: dict | None
    repeats: list[Repeat] = field(default_factory=list)

    @classmethod
    def of(cls, sweep: dict, label: str) -> Side:
        done = [j for j in sweep["jobs"] if j["best_val_accuracy"] is not None]
        best = max(done, key=lambda j: (j["best_val_accuracy"], j["name"]), default=None)
        repeats = [
            Repeat(r["seed"], **{q: r[m] for q, m in REPEAT_METRICS.items()})
            for r in sorted(best["repeats"] if best else [], key=lambda r: r["seed"])
        ]
        return cls(sweep["sweep_id"], label, sweep["jobs"], sweep["trials"], best, repeats)

    def scores(self) -> list[float]:
        """Its finished trials' val_accuracy, best first."""
        found = [t["val_accuracy"] for t in self.trials if t["status"] == "FINISHED"]
        return sorted((s for s in found if s is not None), reverse=True)

    def minutes(self) -> float | None:
        """From its first job's start to its last job's end."""
        ends = [j["end"] for j in self.jobs if j["end"]]
        if not ends or len(ends) < len(self.jobs):
            return None
        return (max(ends) - min(j["start"] for j in self.jobs)) / 60000


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(a: Side, b: Side) -> list[str]:
    def row(name: str, fn, fmt: str) -> str:
        return f"| {name} | {_cell(fn(a), fmt)} | {_cell(fn(b), fmt)} |"

    def best(key):
        return lambda s: s.best[key] if s.best else None

    return [
        f"| | {a.label} | {b.label} |",
        "|---|---:|---:|",
        row("jobs", lambda s: len(s.jobs), "d"),
        row("finished trials", lambda s: len(s.scores()), "d"),
        row(f"best {OBJECTIVE}", best("best_val_accuracy"), ".4f"),
        row("test accuracy of its best", best("test_accuracy"), ".4f"),
        row("its best job", lambda s: s.best["name"] if s.best else None, "s"),
        row("wall time (min)", Side.minutes, ".1f"),
        row("repeats of its best (seeds)", lambda s: len(s.repeats), "d"),
    ]


def unpaired(a: Side, b: Side, top: int = TOP) -> tuple[str, dict[str, float]]:
    """Welch's 95% interval of the difference between the mean val_accuracy of each sweep's
    top trials, in a sentence, and its figures."""
    from scipy import stats as scipy_stats

    x, y = a.scores()[:top], b.scores()[:top]
    what = f"the mean {OBJECTIVE} of each sweep's top {min(len(x), len(y))} trials"
    if len(x) < 2 or len(y) < 2:
        return f"Unpaired: too few finished trials to compare {what}.", {}
    diff = sum(x) / len(x) - sum(y) / len(y)
    if x == y:
        return (
            f"Unpaired: {a.label} and {b.label} have identical top trials ({what}: difference 0).",
            {"difference": 0.0},
        )
    interval = scipy_stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    low, high = float(interval.low), float(interval.high)
    detail = f"{diff:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}], Welch's t, unpaired"
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 <= high:
        finding = f"{a.label} and {b.label} reach the same {OBJECTIVE} ({what}: {detail})"
    else:
        higher = "higher" if diff > 0 else "lower"
        finding = f"{a.label} reaches a {higher} {OBJECTIVE} than {b.label} ({what}: {detail})"
    figures = {"difference": diff, "difference.ci_low": low, "difference.ci_high": high}
    return (
        f"{finding}. Unpaired: the sweeps' best jobs share no repeated seeds, so this "
        "compares search results, not seeds; the top trials are each search's best, not a "
        "random sample, so the interval is a guide, not a test (retrain both with the same "
        "study.repeats seeds for one).",
        figures,
    )


def paired(a: Side, b: Side) -> tuple[str, dict[str, float]]:
    """The study's verdict on the two best jobs' repeats, paired by seed."""
    study = Study([a, b], [a.label, b.label], [], [])
    diff = verdict.difference(a, b, "test_accuracy")
    e = diff.estimate
    figures = {"paired.test_accuracy.difference": e.mean}
    if e.has_interval:
        figures |= {"paired.test_accuracy.ci_low": e.low, "paired.test_accuracy.ci_high": e.high}
    return " ".join(verdict.sentences(study)), figures


def markdown(sweeps: Sequence[dict]) -> tuple[str, dict[str, float]]:
    """The comparison of two sweeps (read_sweeps' dicts), and its figures for the run."""
    a, b = (Side.of(s, label) for s, label in zip(sweeps, "AB", strict=True))
    common = {r.seed for r in a.repeats} & {r.seed for r in b.repeats}
    sentence, figures = paired(a, b) if common else unpaired(a, b)
    for side, key in ((a, "a"), (b, "b")):
        if side.best:
            figures[f"{key}.best_val_accuracy"] = side.best["best_val_accuracy"]
            if side.best["test_accuracy"] is not None:
                figures[f"{key}.test_accuracy"] = side.best["test_accuracy"]
    if a.best and b.best and a.best.get("task") != b.best.get("task"):
        differ = [k for k in a.best["task"] if a.best["task"][k] != b.best["task"].get(k)]
        sentence += (
            f" Beware: their best jobs differ in {', '.join(differ)} (A: "
            + ", ".join(f"{k}={a.best['task'][k]}" for k in differ)
            + "; B: "
            + ", ".join(f"{k}={b.best['task'][k]}" for k in differ)
            + "), so their accuracies are not measured on the same task."
        )
    how = (
        f"paired by the {len(common)} seeds both best jobs were retrained with"
        if common
        else "unpaired"
    )
    text = "\n".join(
        [
            "# Sweep A vs sweep B",
            "",
            f"A is sweep {a.sweep_id}, B is sweep {b.sweep_id}.",
            "",
            *table(a, b),
            "",
            f"## Verdict ({how})",
            "",
            sentence,
        ]
    )
    return text + "\n", figures
