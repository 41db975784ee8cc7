"""A job's outcome, how it reaches the entry process, and the one file a multirun's processes share.

A job's outcome travels as a value. The task function (`src.sweep.main`) returns a `JobOutcome`;
Hydra's launcher hands it back to the sweeper as the job's `JobReturn.return_value` (the joblib
launcher pickles it back from its worker process); the sweeper (hydra_plugins/softmax_sweep)
prints the closing summary from them. A job that fails is returned as a FAILED outcome, never
raised: Hydra re-raises a job's exception when its return value is read, ending the sweep there.
A single run's process is the entry process: it closes with its own outcome.

The one channel that is a file, `.interrupted` in the sweep folder from the entry process to its
jobs, lives with the signals that write it (src/runtime/signals.py).

`job_status.json` in each job's folder is a record of its outcome for tools (tools/bench.py
reads it); nothing in the sweep reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from src.reporting.outcome import JobOutcome
from src.runtime.atomic import write_atomically

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn


STATUS_FILE = "job_status.json"


class JobsUnfinished(Exception):
    """Raised by the sweeper after the closing summary: some jobs failed or were interrupted.
    The entry process turns it into exit code 1 (or 130/143 after a signal)."""

    def __init__(self, count: int):
        super().__init__(f"{count} job(s) did not finish")
        self.count = count


def outcomes(returns: Iterable[Sequence[JobReturn]]) -> list[JobOutcome]:
    """The outcomes in a sweeper's launcher returns (one sequence per batch), in launch order."""
    found = []
    for batch in returns:
        for job_return in batch:
            value = job_return.return_value  # re-raises what escaped a job: a bug, shown whole
            if isinstance(value, JobOutcome):
                found.append(value)
    return found


def write_record(output_dir: str | Path | None, outcome: JobOutcome) -> None:
    """Keep the outcome in the job's folder, as `job_status.json`, for tools."""
    if output_dir is None:
        return
    record = asdict(outcome)  # the result too: asdict recurses into dataclasses
    path = Path(output_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(record, indent=2, default=str))
