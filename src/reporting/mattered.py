"""What mattered in a job's search: the trials on its Pareto front of val_accuracy against
latency (src/reporting/pareto.py), recorded on its run by the job; and each searched
hyperparameter's importance for val_accuracy (src/reporting/importance.py), weighed once per
command when it closes (src/reporting/summary.py), where Optuna and scikit-learn are imported
once for every job instead of in each job's process (about 2 s of CPU each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from src.reporting import importance, pareto
from src.reporting.outcome import Mattered

if TYPE_CHECKING:
    from src.tracking import Tracker

# Imported inside functions: the importance picture's drawing loads only where it is drawn.


def weigh(rows: Sequence[Mapping]) -> Mattered:
    """A job's Pareto front and its trials' spread (src/job/best.py); the importances
    come at the command's close (`with_importances`)."""
    return Mattered({}, importance.spread(rows), [r["trial_id"] for r in pareto.front(rows)])


def with_importances(result):
    """The JobResult (src/reporting/outcome.py) with its importances, when it has
    MIN_TRIALS finished trials."""
    shares = importance.importances(result.rows, result.searched, set(result.log_scaled))
    if not shares:
        return result
    return replace(result, mattered=replace(result.mattered, importance=shares))


def importance_picture(result, folder: Path) -> Path:
    """`importance.svg` of a job; with repeats, the effects within seed noise in grey."""
    from src.pictures.tradeoff_charts import importance as draw

    found, seeds = result.mattered, [r.val_accuracy for r in result.repeats]
    noise = importance.within_noise(found.importance, found.variance, seeds)
    return draw(found.importance, folder / "importance.svg", result.job, noise)


def record(tracker: Tracker, run_id: str, rows: Sequence[Mapping], found: Mattered, job: str):
    """On the job's run: `pareto.svg`, and the tag `pareto=true` on each front member's run."""
    if not found.front:
        return
    members = set(found.front)
    for run in tracker.child_runs(run_id, "trial"):
        if run.data.tags.get("trial_id") in members and run.info.status == "FINISHED":
            tracker.set_tags(run.info.run_id, {"pareto": "true"})
    points = [{k: r.get(k) for k in ("trial_id", pareto.COST, "val_accuracy")} for r in rows]
    data = {"trials": points, "front": found.front, "cost": pareto.COST, "job": job}
    tracker.log_picture(run_id, "pareto", data, "pareto.svg")


def weighed(outcomes: list) -> list:
    """Every finished job (JobOutcomes, src/reporting/outcome.py) with its importances, weighed
    at the command's close, once, with Optuna imported once (src/reporting/summary.py)."""
    return [replace(o, result=with_importances(o.result)) if o.finished else o for o in outcomes]


def across_jobs(results: list) -> dict[str, float]:
    """The importances across a sweep's jobs ({} for one job: its own say it)."""
    if len(results) < 2:
        return {}
    return importance.across_jobs(results)
