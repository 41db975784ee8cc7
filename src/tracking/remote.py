"""A job's `Tracker` in a process of its own (src/tracking/service.py), so the job never imports
MLflow: the tracking process imports it and opens the store on the other core while the job
imports TensorFlow and reads the data, and every store call runs off the training process.

`RemoteTracker` keeps the runs' life cycle here (src/tracking/lifecycle.py) and sends each store
operation over a socket pair, in order. Writes are sent without waiting (the tracking process
hands them to its own background writer), unless `tracking.asynchronous` is false; a write the
store refused, or an outage longer than `tracking.max_outage_seconds`, is raised by the next
call, as the in-process writer does. Everything else waits for its answer. A reader thread
takes the answers, so an interrupt (Ctrl-C) never cuts a message in half. The tracking process
ignores Ctrl-C and SIGTERM, and ends once this process closes its end (or dies): what it was
given is stored first.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

from src import errors
from src.runtime import timings
from src.runtime.ahead import ADDRESS_ENV, KEY_ENV
from src.tracking.lifecycle import RunLifecycle
from src.tracking.outage import StoreUnavailable

# The `Tracker`'s operations made there as they are: the first ones are sent without waiting
# for the answer (when asynchronous), the others wait for it.
_ONE_WAY = (
    "end_run",
    "log_params",
    "set_tags",
    "log_metrics",
    "log_json",
    "log_text",
    "log_inputs",
    "log_picture",
)
_ASKED = ("flush", "find_job_run", "child_runs", "download", "metric_history", "_mark_running")
_ASKED += ("_delete_tags", "resolve", "earlier_trials")
# The answer number of what the tracking process tells unasked: how many records wait.
WAITING = -1


class RemoteError(Exception):
    """The tracking process could not do what it was asked (not an outage)."""


class RemoteTracker(RunLifecycle):
    """A `Tracker` (src/tracking/runs.py) in a tracking process started now."""

    def __init__(
        self,
        uri: str,
        experiment: str,
        asynchronous: bool = True,
        max_outage_seconds: float = 120.0,
        spill_dir: str | None = None,
    ):
        self.uri = uri
        self.waiting = 0  # records the store has not taken yet, as last told
        self.on_waiting: Callable[[int], None] | None = None
        self._asynchronous = asynchronous
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._connected = threading.Event()
        self._cond = threading.Condition()
        self._answers: dict[int, tuple[bool, Any]] = {}
        self._waiting: set[int] = set()
        self._error: BaseException | None = None  # from a write sent without waiting
        self._ended = False
        self._seq = 0  # 0: the "open" message
        self._experiment_id: str | None = None
        # Connecting (the command's tracking process may still be starting) and reading the
        # answers happen in a thread: the job goes on; its first store call waits if need be.
        settings = (uri, experiment, asynchronous, max_outage_seconds, spill_dir)
        threading.Thread(
            target=self._connect_and_read, args=(settings,), name="tracking-answers", daemon=True
        ).start()

    @property
    def experiment_id(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = self._ask("experiment_id")
        return self._experiment_id

    def _own_process(self) -> Connection:
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "src.tracking.service", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                start_new_session=True,  # a Ctrl-C of the terminal's group is the job's to handle
            )
        return Connection(ours.detach())

    def _connect_and_read(self, settings: tuple) -> None:
        """Connect to the command's tracking process (else start one of its own), open the
        tracker there, then read the answers until the connection ends."""
        try:
            self._conn = _shared_connection() or self._own_process()
            self._conn.send((0, "open", settings, {}))  # its error answers the next call
        except Exception as exc:
            self._conn = None
            self._error = errors.TrackingError(f"tracking.uri: no tracking process started: {exc}")
        finally:
            self._connected.set()
        if self._conn is None:
            with self._cond:
                self._ended = True  # every call says so, in one line
                self._cond.notify_all()
            return
        self._read()

    def close(self, grace: float = 10.0) -> None:
        """Let the tracking process store what it was given and end (it also ends when this
        process dies); waits for its own at most `grace` seconds, then leaves it to finish."""
        self._connected.wait()
        if self._conn is None:
            return
        # Shut down, not just closed: the reader thread's pending recv holds the socket open
        # (and the other end would never see its end) until the socket is shut down.
        with (
            contextlib.suppress(OSError),
            socket.fromfd(self._conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        ):
            sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(grace)

    # --- the store's operations, in the tracking process -------------------------------------

    def _ask(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._send(name, args, kwargs, wait=True)

    def _create_run(self, name: str, tags: Mapping[str, str], provisional: bool = False) -> str:
        with timings.cost("run_creation"):
            return self._ask("_create_run", name, tags, provisional=provisional)

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Answered once the file is staged there: the caller may then delete its copy."""
        self._ask("log_file", run_id, str(path), artifact_path)

    @property
    def unavailable(self) -> bool:
        return self._ended or isinstance(self._error, StoreUnavailable)

    def _send(self, name: str, args: tuple, kwargs: dict, wait: bool) -> Any:
        self._connected.wait()
        with self._cond:
            if self._error is not None:
                error, self._error = self._error, None
                if isinstance(error, StoreUnavailable):
                    self._error = error  # given up on for good: every later call raises it
                raise error
            if self._ended:
                raise errors.TrackingError("tracking.uri: the tracking process ended unexpectedly")
            self._seq += 1
            seq = self._seq
            if wait:
                self._waiting.add(seq)
            self._conn.send((seq, name, args, kwargs))
        if not wait:
            return None
        with self._cond:
            while seq not in self._answers and not self._ended:
                self._cond.wait()
            self._waiting.discard(seq)
            if seq not in self._answers:
                raise errors.TrackingError("tracking.uri: the tracking process ended unexpectedly")
            ok, payload = self._answers.pop(seq)
        if not ok:
            raise _error(*payload)
        return payload

    def _read(self) -> None:
        while True:
            try:
                seq, ok, payload = self._conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: closed here meanwhile
                with self._cond:
                    self._ended = True
                    self._cond.notify_all()
                return
            if seq == WAITING:
                self._told_waiting(payload)
                continue
            with self._cond:
                if seq in self._waiting:
                    self._answers[seq] = (ok, payload)
                elif not ok and self._error is None:
                    self._error = _error(*payload)
                self._cond.notify_all()

    def _told_waiting(self, count: int) -> None:
        self.waiting = count
        if self.on_waiting is not None:
            with contextlib.suppress(Exception):
                self.on_waiting(count)


def _error(kind: str, message: str) -> BaseException:
    """The tracking process's exception, as this process raises it."""
    if kind == "StoreUnavailable":
        return StoreUnavailable(message)
    known = getattr(errors, kind, None)
    if isinstance(known, type) and issubclass(known, errors.UserError):
        return known(message)
    return RemoteError(f"{kind}: {message}")


def _forwarded(name: str):
    def call(self: RemoteTracker, *args: Any, **kwargs: Any) -> Any:
        wait = name not in _ONE_WAY or not self._asynchronous
        return self._send(name, args, kwargs, wait=wait)

    call.__name__ = call.__qualname__ = name
    return call


for _name in (*_ONE_WAY, *_ASKED):
    setattr(RemoteTracker, _name, _forwarded(_name))


def _shared_connection(wait: float = 10.0) -> Connection | None:
    """A connection to the multirun's tracking process, if this job is one of a multirun's
    (`shared_tracking`); None if there is none, or it cannot be reached."""
    address = os.environ.get(ADDRESS_ENV)
    if not address:
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            return Client(address, family="AF_UNIX", authkey=bytes.fromhex(os.environ[KEY_ENV]))
        except (OSError, ValueError, KeyError):
            if time.monotonic() > deadline:
                return None  # the job starts a tracking process of its own
            time.sleep(0.02)  # not listening yet
