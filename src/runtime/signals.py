"""Ctrl-C and SIGTERM: stop cleanly, every run marked KILLED, whichever process trains.

In the process that trains, the first signal raises KeyboardInterrupt (`Interrupted` for
SIGTERM), so the tracking context managers mark the runs KILLED; further signals are ignored
while that happens.

A multirun's entry process waits for jobs that Hydra's joblib launcher runs in its worker
processes. While the sweeper launches them (`relaying`), a signal does not raise there: the
entry process marks the sweep interrupted (`mark_interrupted`: queued jobs do not start),
passes the signal on to its child processes started since the sweep began (the launcher's
workers; loky's and multiprocessing's resource trackers, children too, ignore both signals),
and lets Hydra collect the jobs' outcomes as they stop. Exiting at once would let joblib kill
the workers before they record anything. A job that runs in the entry process itself (hydra/launcher=basic) is inside
`job_in_this_process`, and the signal raises there as in a single run.

The one channel that is a file: `.interrupted` in the sweep folder, from the entry process to its
jobs. A job already handed to the launcher (queued in the joblib workers' call queue) shares
nothing else with the entry process, and a worker that was not running a job when the signal
came did not see it; so on Ctrl-C or SIGTERM the entry process writes the marker, and a job
that finds it does not start (KILLED, "not started: interrupted").

State (per process, set only by the entry points): the signal received, the sweep being
relayed to, and whether a job runs in this process.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from src.errors import Interrupted

# Imported inside functions: psutil loads only when a signal is relayed.


@dataclass(frozen=True)
class _Sweep:
    folder: Path
    children_before: frozenset[int]  # child processes that are not the launcher's workers


_INTERRUPTED = ".interrupted"
_received: int | None = None
_sweep: _Sweep | None = None
_job_here = False


def _children() -> list:
    import psutil

    return psutil.Process().children()


def _relay(sweep: _Sweep, signum: int) -> None:
    import psutil

    mark_interrupted(sweep.folder)
    if _job_here:
        return
    for child in _children():  # those in our process group have it already; once is enough
        if child.pid not in sweep.children_before:
            try:
                child.send_signal(signum)
            except psutil.Error:
                continue


def _handle(signum, frame) -> None:
    global _received
    if _received is not None:
        return  # already stopping: let the runs be closed
    _received = signum
    if _sweep is not None:
        _relay(_sweep, signum)
        if not _job_here:
            return
    raise Interrupted("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt


def install() -> None:
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


@contextmanager
def relaying(sweep_dir: str | Path) -> Iterator[None]:
    """While a multirun's jobs run: a signal is passed on to the launcher's workers."""
    global _sweep
    _sweep = _Sweep(Path(sweep_dir), frozenset(child.pid for child in _children()))
    try:
        yield
    finally:
        _sweep = None


@contextmanager
def job_in_this_process() -> Iterator[None]:
    """While a job trains in this process: a signal stops it here."""
    global _job_here
    _job_here = True
    try:
        yield
    finally:
        _job_here = False


def _interrupt() -> KeyboardInterrupt | None:
    """The interrupt a signal asked for, if it should stop a job in this process."""
    if _received is not None and (_sweep is None or _job_here):
        return Interrupted("SIGTERM") if _received == signal.SIGTERM else KeyboardInterrupt()
    return None


def check() -> None:
    """Raise the interrupt a signal asked for, if it has not stopped this process's job yet.

    Python runs a signal handler between two bytecodes of the main thread, wherever that is;
    when it is inside a finalizer (SQLAlchemy's `InstanceState._cleanup`, seen in a joblib
    worker), the KeyboardInterrupt is printed as "Exception ignored" and lost, and the job would
    train to its end. The training loop calls this after every batch (`StopOnSignal`).
    """
    if (interrupt := _interrupt()) is not None:
        raise interrupt


@contextmanager
def interrupt_wins() -> Iterator[None]:
    """An exception the block raises once a signal asked to stop is raised as the interrupt.

    The handler's KeyboardInterrupt can come out of a C extension as another exception: when it
    runs while pybind11 (TensorFlow's bindings) builds an error TensorFlow raises and catches
    itself (`tf.io.gfile.exists` of a missing path: NotFoundError), pybind11 raises
    `RuntimeError: ... MISMATCH of original and normalized active exception types: ORIGINAL
    NotFoundError REPLACED BY KeyboardInterrupt`. keras-tuner would record the trial FAILED, a
    resume would never run it again, and only the next trial's first batch would stop the job.
    """
    try:
        yield
    except Exception as exc:
        if (interrupt := _interrupt()) is None:
            raise
        raise interrupt from exc


def received() -> int | None:
    """The signal that asked this process to stop, if any."""
    return _received


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


def clear_interrupted(sweep_dir: str | Path) -> None:
    """A rerun into the same sweep folder starts its jobs."""
    (Path(sweep_dir) / _INTERRUPTED).unlink(missing_ok=True)


def mark_interrupted(sweep_dir: str | Path) -> None:
    """Tell the multirun's jobs that have not started yet not to start."""
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    (Path(sweep_dir) / _INTERRUPTED).touch()


def sweep_interrupted(sweep_dir: str | Path) -> bool:
    return (Path(sweep_dir) / _INTERRUPTED).exists()
