"""Ctrl-C and SIGTERM: stop cleanly, every run marked KILLED, whichever process trains.

In the process that trains, the first signal raises KeyboardInterrupt (`Interrupted` for
SIGTERM), so the tracking context managers mark the runs KILLED; further signals are ignored
while that happens. A multirun's parent, whose jobs train in Hydra's joblib workers, does not
raise: it passes the signal to its workers, leaves a marker so queued jobs do not start, and
lets Hydra collect the jobs as they stop. Exiting at once would let joblib kill the workers
before they record anything.
"""

from __future__ import annotations

import signal

from src.errors import Interrupted

_received: int | None = None


def _workers() -> list:
    """Hydra's joblib (loky) worker processes under this one."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "loky" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _handle(signum, frame) -> None:
    global _received
    if _received is not None:
        return  # already stopping: let the runs be closed
    _received = signum
    workers = _workers()
    if workers:
        from src.reporting import status

        status.mark_interrupted()
        for worker in workers:  # those in our process group have it already; once is enough
            worker.send_signal(signum)
        return
    raise Interrupted("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def received() -> int | None:
    """The signal that asked this process to stop, if any."""
    return _received


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum
