"""Accuracy against cost: the trials no other trial beats on both.

A trial is on the Pareto front of val_accuracy (higher is better) against a cost such as
`latency_ms` or `n_parameters` (lower is better) when no other finished trial is at least as
accurate and at most as costly, and strictly better on one of the two. The front is what a
choice between accuracy and cost is made from: any trial off it is beaten by one on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from src.model import OBJECTIVE

COST = "latency_ms"  # the cost each job's front is drawn against


def _measured(row: Mapping, cost: str) -> bool:
    values = (row.get(OBJECTIVE), row.get(cost))
    return all(v is not None and math.isfinite(v) for v in values)


def dominates(a: Mapping, b: Mapping, cost: str = COST) -> bool:
    """Whether trial `a` is at least as good as `b` on both and better on one."""
    at_least = a[OBJECTIVE] >= b[OBJECTIVE] and a[cost] <= b[cost]
    return at_least and (a[OBJECTIVE] > b[OBJECTIVE] or a[cost] < b[cost])


def front(rows: Sequence[Mapping], cost: str = COST) -> list[Mapping]:
    """The non-dominated rows among those with both measures, cheapest first."""
    measured = [r for r in rows if _measured(r, cost)]
    members = [r for r in measured if not any(dominates(o, r, cost) for o in measured)]
    return sorted(members, key=lambda r: (r[cost], -r[OBJECTIVE]))
