"""A command's tracking process (src/tracking/service.py), started ahead.

`python -m src.sweep` starts it in its first lines, before it imports Hydra and composes and
checks the config: the entry process then works on one core and the tracking process imports
MLflow on the other, instead of while the jobs import TensorFlow on both.
`src.tracking.shared.shared_tracking` takes it over; a command that turns out untracked, or
ends before its jobs start, ends it unused. It opens no store until a job asks, so it has
written nothing then. Only the standard library here: this runs before anything else is
imported.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Where a command's jobs find its tracking process, and the key they prove themselves with.
ADDRESS_ENV = "SWEEP_TRACKING_ADDRESS"
KEY_ENV = "SWEEP_TRACKING_KEY"
# Command lines that track nothing or train nothing: no tracking process is started ahead.
_UNTRACKED = {"tracking=none", "tracking.enabled=false", "tracking.enabled=False"}
_NO_JOBS = {"-h", "--help", "--hydra-help", "-i", "--info", "-c", "--cfg", "--shell-completion"}


@dataclass
class TrackingProcess:
    process: subprocess.Popen
    folder: Path  # private: holds the socket
    address: str
    key: str

    def end(self, wait: float) -> None:
        """Close its input: it stores what it was given, then ends. Waits up to `wait`
        seconds; after that it goes on storing on its own."""
        self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(wait)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> TrackingProcess:
    folder = Path(tempfile.mkdtemp(prefix="tracking-"))
    address, key = str(folder / "socket"), secrets.token_hex(16)
    process = subprocess.Popen(
        [sys.executable, "-m", "src.tracking.service", "--listen", address],
        stdin=subprocess.PIPE,
        env={**os.environ, KEY_ENV: key},
        start_new_session=True,  # the terminal's Ctrl-C is the jobs' to handle
    )
    return TrackingProcess(process, folder, address, key)


_ahead: TrackingProcess | None = None


def start_ahead(args: Sequence[str]) -> None:
    """Start the tracking process now, unless the command line turns tracking off or asks for
    help or the config only."""
    global _ahead
    if _ahead is None and not any(a in _UNTRACKED or a in _NO_JOBS for a in args):
        _ahead = start()


def take() -> TrackingProcess:
    """The tracking process started ahead, or a new one."""
    global _ahead
    taken, _ahead = _ahead or start(), None
    return taken


def end_unused() -> None:
    """End the tracking process started ahead if nothing took it: the command tracks nothing."""
    global _ahead
    if _ahead is not None:
        _ahead.end(wait=5)
        _ahead = None
