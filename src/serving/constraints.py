"""What the champion must meet beside its accuracy: `export.max_latency_ms` and
`export.max_parameters`. The champion is then the best val_accuracy among the trials that meet
them; a trial recorded before its cost was (no `latency_ms` metric) meets none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from src.errors import UserError

# Each constraint's setting, the trial metric it bounds, and how a value is written.
LIMITS = {
    "max_latency_ms": ("latency_ms", "{:.3g} ms"),
    "max_parameters": ("n_parameters", "{:,.0f}"),
}


class ConstraintUnmet(UserError):
    """No trial in scope meets the export's constraints: nothing is registered."""


class Costed(Protocol):
    latency_ms: float | None
    n_parameters: float | None


def limits(export_cfg) -> dict[str, float]:
    """The constraints set (`{"max_latency_ms": 2.0}`), none when unset."""
    return {k: getattr(export_cfg, k) for k in LIMITS if getattr(export_cfg, k) is not None}


def meets(candidate: Costed, bounds: dict[str, float]) -> bool:
    for key, bound in bounds.items():
        value = getattr(candidate, LIMITS[key][0])
        if value is None or value > bound:
            return False
    return True


def words(bounds: dict[str, float]) -> str:
    """`latency_ms <= 2 ms and n_parameters <= 100,000`."""
    return " and ".join(f"{LIMITS[k][0]} <= {LIMITS[k][1].format(v)}" for k, v in bounds.items())


def keep_meeting(candidates: Sequence[Costed], bounds: dict[str, float]) -> list:
    """The candidates meeting every bound, in their order; ConstraintUnmet when none does,
    naming the constraints and the least each cost reaches among the candidates."""
    kept = [c for c in candidates if meets(c, bounds)]
    if kept or not bounds:
        return kept
    least = []
    for key in bounds:
        metric, fmt = LIMITS[key]
        values = [getattr(c, metric) for c in candidates if getattr(c, metric) is not None]
        least.append(f"least {metric} {fmt.format(min(values))}" if values else f"no {metric}")
    settings = " ".join(f"export.{k}={v}" for k, v in bounds.items())
    raise ConstraintUnmet(
        f"{settings}: none of the {len(candidates)} FINISHED trials in scope meets it "
        f"({', '.join(least)}); raise the limit or drop it"
    )


def threads_note(candidates: Sequence, bounds: dict[str, float]) -> str:
    """A warning when a latency bound compares trials timed on different thread counts
    (`latency_threads`, src/model/cost.py); empty otherwise."""
    threads = {getattr(c, "latency_threads", None) for c in candidates} - {None}
    if "max_latency_ms" not in bounds or len(threads) < 2:
        return ""
    counts = ", ".join(str(t) for t in sorted(threads))
    return (
        f"note: the trials' latencies were measured on {counts} threads (their jobs' "
        "train.threads); export.max_latency_ms compares them as measured"
    )
