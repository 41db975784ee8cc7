"""One tracking process for a whole command (src/tracking/service.py, `--listen`): every job of
a multirun, or the single run, connects to it, and so does the closing summary. MLflow is then
imported and the store opened once per command, in that process only; the entry process and the
jobs never import it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from src.tracking.remote import ADDRESS_ENV, KEY_ENV, RemoteTracker


@contextmanager
def shared_tracking() -> Iterator[None]:
    """While a command's jobs run: one tracking process for all of them. Its address and key
    reach the jobs (the launcher's processes) through the environment; a private folder holds
    the socket. On the way out it stores what it was given, then ends."""
    folder = Path(tempfile.mkdtemp(prefix="tracking-"))
    path, key = str(folder / "socket"), secrets.token_hex(16)
    process = subprocess.Popen(
        [sys.executable, "-m", "src.tracking.service", "--listen", path],
        stdin=subprocess.PIPE,
        env={**os.environ, KEY_ENV: key},
        start_new_session=True,
    )
    os.environ[ADDRESS_ENV], os.environ[KEY_ENV] = path, key
    try:
        yield
    finally:
        os.environ.pop(ADDRESS_ENV, None)
        os.environ.pop(KEY_ENV, None)
        process.stdin.close()  # it stores what it was given, then ends
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(60)  # else it goes on storing on its own: the command is done
        shutil.rmtree(folder, ignore_errors=True)


def log_to_runs(
    settings: Sequence[Any], run_ids: Sequence[str], files: Sequence[Path], tags: Mapping[str, str]
) -> None:
    """Attach the same files and tags to several runs of one store (a sweep's closing summary),
    through the command's tracking process; `settings`: the jobs' `RemoteTracker` arguments."""
    tracker = RemoteTracker(*settings)
    try:
        for run_id in run_ids:
            for path in files:
                tracker.log_file(run_id, path)  # answered once staged: `files` may go
            if tags:
                tracker.set_tags(run_id, tags)
        tracker.flush()
    finally:
        tracker.close()
