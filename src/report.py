"""What a sweep says when its jobs end: a status file per job, and a summary of every job.

Hydra's multirun raises only the first failed job; each job therefore writes its own outcome
into its output folder, and the entry point reads them all back, whichever launcher ran them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

STATUS_FILE = "job_status.json"
_INTERRUPTED = ".interrupted"  # marker: jobs of an interrupted multirun do not start
_sweep_dir: Path | None = None


def start_sweep(sweep_dir: str | Path) -> None:
    """Remember where this process's multirun writes its jobs' folders."""
    global _sweep_dir
    _sweep_dir = Path(sweep_dir)
    (_sweep_dir / _INTERRUPTED).unlink(missing_ok=True)  # a rerun into the same folder starts


def write_status(
    output_dir: str | Path, job: str, status: str, result: Any = None, error: str | None = None
) -> None:
    record = {
        "job": job,
        "status": status,
        "error": error,
        "result": asdict(result) if is_dataclass(result) else result,
    }
    path = Path(output_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str))


def sweep_statuses() -> list[dict]:
    """Every job's recorded outcome in this process's multirun, in launch order."""
    if _sweep_dir is None or not _sweep_dir.is_dir():
        return []
    found = []
    for path in _sweep_dir.glob(f"*/{STATUS_FILE}"):
        order = int(path.parent.name) if path.parent.name.isdigit() else 0
        found.append((order, json.loads(path.read_text())))
    return [record for _, record in sorted(found, key=lambda item: item[0])]


def print_sweep_summary(file=sys.stderr) -> int:
    """Print one line per job of the multirun; returns how many failed."""
    statuses = sweep_statuses()
    if not statuses:
        return 0
    failed = [s for s in statuses if s["status"] != "FINISHED"]
    killed = sum(s["status"] == "KILLED" for s in statuses)
    width = max(len(s["job"]) for s in statuses)
    print(
        f"\nsweep: {len(statuses)} job(s), {len(failed) - killed} failed, {killed} interrupted",
        file=file,
    )
    for s in statuses:
        if s["status"] == "FINISHED":
            r = s["result"]
            detail = (
                f"best val_accuracy {r['best_val_accuracy']:.4f}, test_accuracy "
                f"{r['test_accuracy']:.4f}, {r['trials']} trials ({r['failed']} failed)"
            )
        else:
            detail = s["error"] or "no reason recorded"
        print(f"  {s['job']:<{width}}  {s['status']:<8}  {detail}", file=file)
    return len(failed)


def mark_interrupted() -> None:
    """Tell this multirun's jobs that have not started yet not to start."""
    if _sweep_dir is not None:
        _sweep_dir.mkdir(parents=True, exist_ok=True)
        (_sweep_dir / _INTERRUPTED).touch()


def sweep_interrupted(sweep_dir: str | Path) -> bool:
    return (Path(sweep_dir) / _INTERRUPTED).exists()
