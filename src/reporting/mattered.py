"""What mattered in a job's search, recorded on its run: each searched hyperparameter's
importance for val_accuracy (src/reporting/importance.py) and the trials on the Pareto front of
val_accuracy against latency (src/reporting/pareto.py), with their pictures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from src.reporting import importance, pareto
from src.tracking import Tracker


@dataclass(frozen=True)
class Mattered:
    """A job's importances, the variance they split, and its Pareto front."""

    # Each varied hyperparameter's share of val_accuracy's variance, largest first (sum 1).
    importance: dict[str, float] = field(default_factory=dict)
    # The variance of val_accuracy over the finished trials (what the shares split).
    variance: float = 0.0
    # The trials on the front of val_accuracy against pareto.COST, cheapest first.
    front: list[str] = field(default_factory=list)


def weigh(rows: Sequence[Mapping], searched: Sequence[str], log_scaled: set[str]) -> Mattered:
    """The importances and the front of a job's trial rows (src/reporting/results.py)."""
    return Mattered(
        importance.importances(rows, searched, log_scaled),
        importance.spread(rows),
        [r["trial_id"] for r in pareto.front(rows)],
    )


def record(tracker: Tracker, run_id: str, rows: Sequence[Mapping], found: Mattered, job: str):
    """On the job's run: `importance.<name>` metrics and `importance.svg`; `pareto.svg`; and the
    tag `pareto=true` on each front member's trial run."""
    if found.importance:
        tracker.log_metrics(run_id, {f"importance.{k}": v for k, v in found.importance.items()})
        draw_importance(tracker, run_id, found, job)
    if found.front:
        members = set(found.front)
        for run in tracker.child_runs(run_id, "trial"):
            if run.data.tags.get("trial_id") in members and run.info.status == "FINISHED":
                tracker.set_tags(run.info.run_id, {"pareto": "true"})
        points = [{k: r.get(k) for k in ("trial_id", pareto.COST, "val_accuracy")} for r in rows]
        data = {"trials": points, "front": found.front, "cost": pareto.COST, "job": job}
        tracker.log_picture(run_id, "pareto", data, "pareto.svg")


def draw_importance(
    tracker: Tracker, run_id: str, found: Mattered, job: str, seed_sd: float | None = None
) -> None:
    """`importance.svg`; with the repeats' seed-to-seed sd, effects within noise in grey."""
    noise = importance.noise(found.importance, found.variance, seed_sd) if seed_sd else {}
    data = {"shares": found.importance, "job": job, "noise": noise}
    tracker.log_picture(run_id, "importance", data, "importance.svg")
