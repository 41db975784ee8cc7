"""One tracking process for a whole command (src/tracking/service.py, `--listen`): every job of
a multirun, or the single run, connects to it, and so does the closing summary. MLflow is then
imported and the store opened once per command, in that process only; the entry process and the
jobs never import it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from src.runtime import ahead
from src.runtime.ahead import ADDRESS_ENV, KEY_ENV
from src.tracking.remote import RemoteTracker


@contextmanager
def shared_tracking() -> Iterator[None]:
    """While a command's jobs run: one tracking process for all of them. Its address and key
    reach the jobs (the launcher's processes) through the environment; a private folder holds
    the socket. The process is the one the entry point started ahead (src/runtime/ahead.py)
    when there is one. On the way out it stores what it was given, then ends."""
    process = ahead.take()
    os.environ[ADDRESS_ENV], os.environ[KEY_ENV] = process.address, process.key
    try:
        yield
    finally:
        os.environ.pop(ADDRESS_ENV, None)
        os.environ.pop(KEY_ENV, None)
        process.end(wait=60)  # then it goes on storing on its own: the command is done


def log_to_runs(
    settings: Sequence[Any],
    run_ids: Sequence[str],
    files: Sequence[Path],
    tags: Mapping[str, str],
    metrics: Mapping[str, float] | None = None,
) -> str:
    """Attach the same files, tags and metrics to several runs of one store (a sweep's closing
    summary), through the command's tracking process; `settings`: the jobs' `RemoteTracker`
    arguments. Returns the experiment's id."""
    tracker = RemoteTracker(*settings)
    try:
        for run_id in run_ids:
            for path in files:
                tracker.log_file(run_id, path)  # answered once staged: `files` may go
            if tags:
                tracker.set_tags(run_id, tags)
            if metrics:
                tracker.log_metrics(run_id, metrics)
        tracker.flush()
        return tracker.experiment_id
    finally:
        tracker.close()
