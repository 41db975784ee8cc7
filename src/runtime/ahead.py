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

import atexit
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
# The invocation's sweep id, decided once by the entry process (src/job/context.py).
SWEEP_ID_ENV = "SWEEP_ID"
# Command lines that track nothing, train nothing, or whose trials the chief's tracking process
# records (a local distributed worker): no tracking process is started ahead.
_UNTRACKED = {
    "tracking=none",
    "tracking.enabled=false",
    "tracking.enabled=False",
    "distributed.role=worker",
}
_NO_JOBS = {
    "-h",
    "--help",
    "--hydra-help",
    "--version",
    "-i",
    "--info",
    "-c",
    "--cfg",
    "-sc",
    "--shell-completion",
}
# Set by the entry point after the start, and never read by the tracking process.
_ENTRY_ONLY = {SWEEP_ID_ENV, "HYDRA_FULL_ERROR", ADDRESS_ENV, KEY_ENV}


@dataclass
class TrackingProcess:
    process: subprocess.Popen
    folder: Path  # private: holds the socket
    address: str
    key: str
    env: dict[str, str]  # what it was started with, and where
    cwd: str

    def end(self, wait: float) -> None:
        """Close its input: it stores what it was given, then ends. Waits up to `wait`
        seconds; after that it goes on storing on its own."""
        try:
            self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(wait)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def fits(self) -> bool:
        """Alive, and started with the environment and folder a job's process would get now
        (a single run's `hydra.job.env_set` and `chdir` apply only once Hydra runs it)."""
        now = {k: v for k, v in os.environ.items() if k not in _ENTRY_ONLY}
        then = {k: v for k, v in self.env.items() if k not in _ENTRY_ONLY}
        return self.process.poll() is None and now == then and os.getcwd() == self.cwd


def start() -> TrackingProcess:
    folder = Path(tempfile.mkdtemp(prefix="tracking-"))
    address, key = str(folder / "socket"), secrets.token_hex(16)
    env = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "src.tracking.service", "--listen", address],
        stdin=subprocess.PIPE,
        env={**env, KEY_ENV: key},
        start_new_session=True,  # the terminal's Ctrl-C is the jobs' to handle
    )
    return TrackingProcess(process, folder, address, key, env, os.getcwd())


_ahead: TrackingProcess | None = None


def start_ahead(args: Sequence[str]) -> None:
    """Start the tracking process now, unless the command line turns tracking off or asks for
    help or the config only."""
    global _ahead
    names = {a.split("=", 1)[0] if a.startswith("-") else a for a in args}
    if _ahead is None and not names & (_UNTRACKED | _NO_JOBS):
        _ahead = start()
        atexit.register(end_unused)  # an interrupt before the entry point's own clean-up


def take() -> TrackingProcess:
    """The tracking process started ahead, or a new one if it cannot serve (see `fits`)."""
    global _ahead
    if _ahead is not None and not _ahead.fits():
        end_unused()
    taken, _ahead = _ahead or start(), None
    return taken


def end_unused() -> None:
    """End the tracking process started ahead if nothing took it: it holds nothing (no job
    connected), so it is killed rather than asked."""
    global _ahead
    if _ahead is not None:
        unused, _ahead = _ahead, None
        unused.process.kill()
        unused.end(wait=5)
