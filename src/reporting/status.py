"""Each job's outcome as a status file in its Hydra output folder, and the interrupt marker.

Hydra's multirun raises only the first failed job, and joblib workers cannot print a shared
summary; each job therefore writes its outcome into its output folder, and the entry process
reads them all back.
"""

from __future__ import annotations

import json
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
