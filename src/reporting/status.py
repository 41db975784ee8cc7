"""A job's outcome, how it reaches the entry process, and the one file a multirun's processes share.

A job's outcome travels as a value. The task function (`src.sweep.main`) returns a `JobOutcome`;
Hydra's launcher hands it back to the sweeper as the job's `JobReturn.return_value` (the joblib
launcher pickles it back from its worker process); the sweeper (hydra_plugins/softmax_sweep)
prints the closing summary from them. A job that fails is returned as a FAILED outcome, never
raised: Hydra re-raises a job's exception when its return value is read, ending the sweep there.
A single run's process is the entry process: it closes with its own outcome.

The one channel that is a file: `.interrupted` in the sweep folder, from the entry process to its
jobs. A job already handed to the launcher (queued in the joblib workers' call queue) shares
nothing else with the entry process, and a worker that was not running a job when the signal
came did not see it; so on Ctrl-C or SIGTERM the entry process writes the marker, and a job
that finds it does not start (KILLED, "not started: interrupted").

`job_status.json` in each job's folder is a record of its outcome for tools (tools/bench.py
reads it); nothing in the sweep reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from src.runtime.files import write_atomically

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn

    from src.reporting.results import JobResult

STATUS_FILE = "job_status.json"
_INTERRUPTED = ".interrupted"


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: FINISHED (with its result), FAILED (with the one-line reason) or
    KILLED (interrupted, or not started because the sweep was)."""

    job: str
    status: str
    error: str | None = None
    result: JobResult | None = None
    # Where its runs are: the `RemoteTracker` arguments (uri, experiment, ...) the job used.
    tracking: list | None = None

    @property
    def finished(self) -> bool:
        return self.status == "FINISHED"


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


def clear_interrupted(sweep_dir: str | Path) -> None:
    """A rerun into the same sweep folder starts its jobs."""
    (Path(sweep_dir) / _INTERRUPTED).unlink(missing_ok=True)


def mark_interrupted(sweep_dir: str | Path) -> None:
    """Tell the multirun's jobs that have not started yet not to start."""
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    (Path(sweep_dir) / _INTERRUPTED).touch()


def sweep_interrupted(sweep_dir: str | Path) -> bool:
    return (Path(sweep_dir) / _INTERRUPTED).exists()
