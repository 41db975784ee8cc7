"""What a sweep says when its jobs end: per job its top trials, for a loss comparison sparse
against categorical side by side, and, when the jobs have repeats (study.repeats), the study's
statistics ending with its verdict (src/reporting/study.py). The summary goes to the terminal
and, as `sweep_summary.md` with all trials in `sweep_trials.csv` (and the repeats'
`repeats.svg` and `sweep_repeats.csv`), onto every job's MLflow run, the verdict as its
`verdict` tag.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from src.model import OBJECTIVE
from src.reporting import mattered, mattered_text

if TYPE_CHECKING:
    from src.reporting.outcome import JobOutcome, JobResult

# Imported inside functions: SciPy (a study's statistics), the live display and the store's
# writers load only where a summary needs them; the entry process stays light.

TOP = 5  # trials listed in a job's summary
_TAG_LIMIT = 5000  # characters of a tag value every MLflow store accepts
_STOPPED = {"time_budget": ", stopped by its time budget (tuner.max_minutes)"}


def _trials(result: JobResult) -> str:
    """'12 trials (0 failed, 7 pruned)'; pruned only where the pruner stopped any."""
    pruned = f", {result.pruned} pruned" if result.pruned else ""
    return f"{result.trials} trials ({result.failed} failed{pruned})"


def _status_lines(outcomes: list[JobOutcome]) -> list[str]:
    failed = sum(o.status == "FAILED" for o in outcomes)
    killed = sum(o.status == "KILLED" for o in outcomes)
    width = max(len(o.job) for o in outcomes)
    lines = [f"sweep: {len(outcomes)} job(s), {failed} failed, {killed} interrupted"]
    for o in outcomes:
        if o.finished:
            res = o.result
            detail = (
                f"best val_accuracy {res.best_val_accuracy:.4f}, test_accuracy "
                f"{res.test_accuracy:.4f}, {_trials(res)}"
                f"{_STOPPED.get(res.stopped_by, '')}"
            )
        else:
            detail = o.error or "no reason recorded"
        lines.append(f"  {o.job:<{width}}  {o.status:<8}  {detail}")
    return lines


def comparison_markdown(results: list[JobResult]) -> str:
    """Jobs side by side; for a loss comparison, headed by the loss."""
    losses = [r.loss for r in results]
    heads = losses if len(set(losses)) == len(losses) else [r.job for r in results]
    title = " vs ".join(heads)

    def row(name: str, values: list, fmt: str) -> str:
        cells = ["-" if v is None else format(v, fmt) for v in values]
        return f"| {name} | " + " | ".join(cells) + " |"

    return (
        "\n".join(
            [
                f"## {title}",
                "",
                "| | " + " | ".join(heads) + " |",
                "|---|" + "---:|" * len(heads),
                row("best val_accuracy", [r.best_val_accuracy for r in results], ".4f"),
                row("mean val_accuracy", [r.mean_val_accuracy for r in results], ".4f"),
                row("test accuracy of the best", [r.test_accuracy for r in results], ".4f"),
                row("time per epoch (s)", [r.mean_epoch_time for r in results], ".3f"),
                row("peak memory (MB)", [r.peak_memory_mb for r in results], ".0f"),
                row("trials (failed)", [f"{r.trials} ({r.failed})" for r in results], "s"),
            ]
        )
        + "\n"
    )


def summary_markdown(outcomes: list[JobOutcome], shares: dict[str, float] | None = None) -> str:
    """The closing summary; `shares`: the importances across the sweep's jobs."""
    finished = [o.result for o in outcomes if o.finished]
    parts = ["# Sweep summary", "", *_status_lines(outcomes), ""]
    parts += [job_markdown(result) for result in finished]
    if len(finished) > 1:
        parts.append(comparison_markdown(finished))
    if shares:
        parts.append(mattered_text.sweep_section(finished, shares))
    if any(r.repeats for r in finished):
        from src.reporting import study  # SciPy: only for a study's statistics

        parts.append(study.markdown(finished))  # the study's answer comes last
    return "\n".join(parts)


def finish(outcomes: list[JobOutcome], file=sys.stderr) -> int:
    """Stop the progress display, print the closing summary and store it on every finished
    job's run; returns how many jobs failed or were interrupted."""
    from src.reporting import display

    display.display().stop()
    if not outcomes:
        return 0
    outcomes = mattered.weighed(outcomes)
    shares = mattered.across_jobs([o.result for o in outcomes if o.finished])
    text = summary_markdown(outcomes, shares)
    print("\n" + text, file=file, flush=True)
    for uri, experiment_id in _store(outcomes, text, shares).items():
        print(f"\nThis sweep's runs: {_sweep_address(uri, experiment_id)}", file=file, flush=True)
    return sum(not o.finished for o in outcomes)


def _sweep_address(uri: str, experiment_id: str) -> str:
    """The MLflow UI's address of this sweep's job runs (the entry process set its id)."""
    from src.runtime.ahead import SWEEP_ID_ENV
    from src.tracking.addresses import sweep_address, where_to_look

    address = sweep_address(uri, experiment_id, os.environ.get(SWEEP_ID_ENV, ""))
    return where_to_look(uri, address)


def _store(outcomes: list[JobOutcome], text: str, shares: dict[str, float]) -> dict[str, str]:
    """The summary's files (and a study's verdict tag) on every finished job's run, through the
    command's tracking process: neither the entry process nor a job imports MLflow."""
    from src.tracking.shared import log_to_runs

    runs: dict[tuple, list[str]] = {}
    rows = []
    for o in outcomes:
        if not o.finished or not o.tracking or o.result is None:
            continue
        runs.setdefault(tuple(o.tracking), []).append(o.result.run_id)
        rows += [{"job": o.job, "loss": o.result.loss, **row} for row in o.result.rows]
    if not runs:
        return {}
    finished = [o.result for o in outcomes if o.finished]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sweep_summary.md").write_text(text)
        write_csv(rows, folder / "sweep_trials.csv")
        files = [folder / "sweep_summary.md", folder / "sweep_trials.csv"]
        if shares:
            from src.pictures.tradeoff_charts import importance

            title = f"across the sweep's {len(finished)} jobs"
            files.append(importance(shares, folder / "sweep_importance.svg", title))
        tags = {}
        if any(r.repeats for r in finished):
            from src.reporting import study

            files += study.files(finished, folder)
            verdict = study.verdict_text(finished)
            if verdict:
                tags["verdict"] = verdict[:_TAG_LIMIT]
        for i, o in enumerate(outcomes):  # each job's own: its summary and importances
            if o.finished and o.tracking and o.result is not None:
                _store_job(o, folder / f"job-{i}")
        return {
            settings[0]: log_to_runs(settings, run_ids, files, tags)
            for settings, run_ids in runs.items()
        }


def _store_job(outcome: JobOutcome, folder: Path) -> None:
    """A job's run gets its summary again, now with its importances (`importance.<name>`
    metrics, `importance.svg`, the effects within seed noise in grey)."""
    from src.reporting.mattered import importance_picture
    from src.tracking.shared import log_to_runs

    result = outcome.result
    shares = result.mattered.importance
    if not shares:
        return
    folder.mkdir()
    (folder / "summary.md").write_text(job_markdown(result))
    files = [folder / "summary.md", importance_picture(result, folder)]
    metrics = {f"importance.{k}": v for k, v in shares.items()}
    log_to_runs(outcome.tracking, [result.run_id], files, {}, metrics)


def write_csv(rows: list[dict], path: Path) -> None:
    """`rows` as a CSV file with the union of their keys as columns, in order of appearance
    (empty where a row has no value), as pandas writes it, without importing pandas."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        for row in rows:  # NaN as an empty cell too
            writer.writerow({k: "" if v != v else v for k, v in row.items()})


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-2 else f"{value:.{digits}f}"
    return str(value)


def job_markdown(result: JobResult) -> str:
    """The job's summary: its best trial, its top trials, and its failures."""
    best = result.best_hyperparameters
    columns = result.searched
    lines = [
        f"## {result.job}",
        "",
        f"Best trial {result.best_trial_id}: {OBJECTIVE} {result.best_val_accuracy:.4f}, "
        f"test accuracy {result.test_accuracy:.4f} "
        f"({', '.join(f'{k}={_fmt(v)}' for k, v in best.items())}).",
        f"{_trials(result)}, mean {OBJECTIVE} "
        f"{result.mean_val_accuracy:.4f}, {_fmt(result.mean_epoch_time, 3)} s per epoch, "
        f"peak memory {result.peak_memory_mb:.0f} MB{_STOPPED.get(result.stopped_by, '')}.",
        "",
        "| trial | " + "".join(f"{name} | " for name in columns) + f"{OBJECTIVE} | s/epoch |",
        "|---|" + "---:|" * len(columns) + "---:|---:|",
    ]
    if warm := result.warm_start:
        lines[4:4] = [
            f"Warm start from sweep {warm['sweep_id']}: {len(set(warm['runs'].values()))} of its "
            "trials reused "
            f"(not trained again); left out: {warm['outside']} outside this space, "
            f"{warm['unlike']} trained another way (loss, model, data, epochs, seed, precision).",
        ]
    for row in [r for r in result.rows if r[OBJECTIVE] is not None][:TOP]:
        cells = "".join(f"{_fmt(row.get(name), 3)} | " for name in columns)
        pruned = "" if row.get("pruned_at") is None else f" (pruned after epoch {row['pruned_at']})"
        pruned += " (reused)" if row.get("reused_run") else ""
        lines.append(
            f"| {row['trial_id']}{pruned} | {cells}{row[OBJECTIVE]:.4f} | "
            f"{_fmt(row['epoch_time'], 3)} |"
        )
    lines += mattered_text.job_lines(result)
    for trial_id, reason in result.failures:
        lines.append(f"\n- trial {trial_id} failed: {reason}")
    lines += ["\nWorkers:"] if result.workers else []
    for w in result.workers:
        again = f", restarted {w['restarts']}x" if w["restarts"] else ""
        lines.append(f"- {w['tuner_id']} on {w['host']}{again}, log {w['log']}")
    return "\n".join(lines) + "\n"
