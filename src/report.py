"""What a sweep says when its jobs end: a status file per job, then the closing summary.

Hydra's multirun raises only the first failed job, and joblib workers cannot print a shared
summary; each job therefore writes its outcome into its output folder, and the entry process
reads them all back: per job its top trials, for a loss comparison sparse against categorical
side by side. The summary goes to the terminal and, as `sweep_summary.md` with all trials in
`sweep_trials.csv`, onto every job's MLflow run.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

STATUS_FILE = "job_status.json"
_INTERRUPTED = ".interrupted"  # marker: jobs of an interrupted multirun do not start
_folders: list[Path] = []
_sweep_dir: Path | None = None


def start_sweep(sweep_dir: str | Path) -> None:
    """Remember where this process's multirun writes its jobs' folders."""
    global _sweep_dir
    _sweep_dir = Path(sweep_dir)
    (_sweep_dir / _INTERRUPTED).unlink(missing_ok=True)  # a rerun into the same folder starts
    _folders.append(_sweep_dir)


def start_run(output_dir: str | Path) -> None:
    """Remember a single run's folder."""
    _folders.append(Path(output_dir))


def write_status(
    output_dir: str | Path,
    job: str,
    status: str,
    result: Any = None,
    error: str | None = None,
    tracking_uri: str | None = None,
) -> None:
    record = {
        "job": job,
        "status": status,
        "error": error,
        "tracking_uri": tracking_uri,
        "result": asdict(result) if is_dataclass(result) else result,
    }
    path = Path(output_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str))


def statuses() -> list[dict]:
    """Every job's recorded outcome in this process's sweep or run, in launch order."""
    found = []
    for folder in _folders:
        for path in folder.glob(f"**/{STATUS_FILE}"):
            order = int(path.parent.name) if path.parent.name.isdigit() else 0
            found.append((order, json.loads(path.read_text())))
    return [record for _, record in sorted(found, key=lambda item: item[0])]


def mark_interrupted() -> None:
    """Tell this multirun's jobs that have not started yet not to start."""
    if _sweep_dir is not None:
        _sweep_dir.mkdir(parents=True, exist_ok=True)
        (_sweep_dir / _INTERRUPTED).touch()


def sweep_interrupted(sweep_dir: str | Path) -> bool:
    return (Path(sweep_dir) / _INTERRUPTED).exists()


def _status_lines(records: list[dict]) -> list[str]:
    failed = sum(r["status"] == "FAILED" for r in records)
    killed = sum(r["status"] == "KILLED" for r in records)
    width = max(len(r["job"]) for r in records)
    lines = [f"sweep: {len(records)} job(s), {failed} failed, {killed} interrupted"]
    for r in records:
        if r["status"] == "FINISHED":
            res = r["result"]
            detail = (
                f"best val_accuracy {res['best_val_accuracy']:.4f}, test_accuracy "
                f"{res['test_accuracy']:.4f}, {res['trials']} trials ({res['failed']} failed)"
            )
        else:
            detail = r["error"] or "no reason recorded"
        lines.append(f"  {r['job']:<{width}}  {r['status']:<8}  {detail}")
    return lines


def comparison_markdown(results: list[dict]) -> str:
    """Jobs side by side; for a loss comparison, headed by the loss."""
    losses = [r["loss"] for r in results]
    heads = losses if len(set(losses)) == len(losses) else [r["job"] for r in results]
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
                row("best val_accuracy", [r["best_val_accuracy"] for r in results], ".4f"),
                row("mean val_accuracy", [r["mean_val_accuracy"] for r in results], ".4f"),
                row("test accuracy of the best", [r["test_accuracy"] for r in results], ".4f"),
                row("time per epoch (s)", [r["mean_epoch_time"] for r in results], ".3f"),
                row("peak memory (MB)", [r["peak_memory_mb"] for r in results], ".0f"),
                row("trials (failed)", [f"{r['trials']} ({r['failed']})" for r in results], "s"),
            ]
        )
        + "\n"
    )


def summary_markdown(records: list[dict]) -> str:
    from src.results import JobResult, job_markdown

    finished = [r["result"] for r in records if r["status"] == "FINISHED"]
    parts = ["# Sweep summary", "", *_status_lines(records), ""]
    parts += [
        job_markdown(JobResult(**{**r, "failures": [tuple(f) for f in r["failures"]]}))
        for r in finished
    ]
    if len(finished) > 1:
        parts.append(comparison_markdown(finished))
    return "\n".join(parts)


def finish(file=sys.stderr) -> int:
    """Print the closing summary, store it on every job's run; returns how many jobs failed or
    were interrupted."""
    records = statuses()
    if not records:
        return 0
    text = summary_markdown(records)
    print("\n" + text, file=file, flush=True)
    _store(records, text)
    return sum(r["status"] != "FINISHED" for r in records)


def _store(records: list[dict], text: str) -> None:
    import pandas as pd

    from src.tracking import log_files_to_runs

    runs: dict[str, list[str]] = {}
    rows = []
    for record in records:
        result = record["result"]
        if record["status"] != "FINISHED" or not record.get("tracking_uri") or not result:
            continue
        runs.setdefault(record["tracking_uri"], []).append(result["run_id"])
        rows += [{"job": record["job"], "loss": result["loss"], **row} for row in result["rows"]]
    if not runs:
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sweep_summary.md").write_text(text)
        pd.DataFrame(rows).to_csv(folder / "sweep_trials.csv", index=False)
        for uri, run_ids in runs.items():
            log_files_to_runs(
                uri, run_ids, [folder / "sweep_summary.md", folder / "sweep_trials.csv"]
            )
