"""Writes to the tracking store off the training thread: in order, retried through an outage.

Training hands a `BackgroundWriter` its per-epoch metrics, tags, artifacts and run ends and goes
on; one thread performs them in the order given. A write that fails for a passing reason (the
server is down or restarting, a gateway error, a locked SQLite database) is retried every
`_RETRY_EVERY` seconds at most - not with MLflow's exponential back-off, which kept retrying a
minute after the server was back - until the store has been unreachable for
`tracking.max_outage_seconds`; the writer then stops, keeps what it could not write, and the
next `submit` or `flush` raises `StoreUnavailable` (one line, the job resumable). A write the
store refuses for good (a bad value) is not retried: `flush` raises it, like a synchronous
call would.

Retried writes are idempotent: metrics keep the timestamp taken when they were handed over
(MLflow skips a metric it already has), params and tags are upserts, artifacts overwrite.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from src.errors import TrackingError

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest wait between two attempts while the store is unreachable.
_RETRY_EVERY = 1.0
# Texts of MLflow's exceptions for failures that pass: connection refused or reset, timeouts,
# retries exhausted on 5xx/429 answers, a SQLite writer holding the lock.
_TRANSIENT = (
    "database is locked",
    "failed with exception",
    "failed with timeout exception",
    "Connection refused",
    "Connection aborted",
    "Max retries exceeded",
    "Remote end closed",
)
_TRANSIENT_CODES = ("error code 500", "error code 502", "error code 503", "error code 504")


class StoreUnavailable(TrackingError):
    """The tracking store could not be reached for longer than tracking.max_outage_seconds."""


def transient(exc: BaseException) -> bool:
    """Whether a failed store call may succeed if tried again (the store was unreachable)."""
    text = str(exc)
    return any(s in text for s in _TRANSIENT) or any(c in text for c in _TRANSIENT_CODES)


def outage_error(uri: str, seconds: float) -> StoreUnavailable:
    return StoreUnavailable(
        f"tracking.uri: the store at {uri} has not answered for {seconds:.0f} s "
        "(tracking.max_outage_seconds); the job stopped with its state saved: rerun the same "
        "command once the store is back to resume it"
    )


class Outage:
    """Retries a call while the store is unreachable, for at most `max_seconds` in all."""

    def __init__(self, uri: str, max_seconds: float):
        self.uri = uri
        self.max_seconds = max_seconds

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = None
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not transient(exc):
                    raise
                now = time.monotonic()
                if started is None:
                    started = now
                    log.warning("tracking store unreachable, retrying: %s", str(exc)[:200])
                if now - started >= self.max_seconds:
                    raise outage_error(self.uri, now - started) from None
                time.sleep(min(_RETRY_EVERY, self.max_seconds - (now - started)))


class BackgroundWriter:
    """One thread performing a tracker's writes in the order they were submitted."""

    def __init__(self, outage: Outage):
        self._outage = outage
        self._pending: deque[Callable[[], Any]] = deque()
        self._busy = False
        self._cond = threading.Condition()
        self._failed: StoreUnavailable | None = None
        self._refused: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._closing = False

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue `fn(*args, **kwargs)`; raises at once if the store was given up on."""
        with self._cond:
            if self._failed is not None:
                raise self._failed
            self._pending.append(lambda: fn(*args, **kwargs))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="mlflow-writer", daemon=True
                )
                self._thread.start()
                atexit.register(self._close)
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every submitted write is in the store; raises `StoreUnavailable` after a
        long outage, or the first write the store refused."""
        with self._cond:
            while (self._pending or self._busy) and self._failed is None:
                self._cond.wait()
            if self._failed is not None:
                raise self._failed
            if self._refused:
                error, self._refused = self._refused[0], []
                raise error

    @property
    def failed(self) -> bool:
        return self._failed is not None

    def _close(self, grace: float = 5.0) -> None:
        """At the interpreter's exit: let a write in progress finish (for at most `grace`
        seconds) and start no other, so that no store call runs while Python tears down
        (a daemon thread inside SQLite or a socket then can crash the exit)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            deadline = time.monotonic() + grace
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                write = self._pending.popleft()
                self._busy = True
            try:
                self._outage.call(write)
            except StoreUnavailable as exc:
                with self._cond:
                    self._failed = exc
                    self._pending.appendleft(write)
                    self._busy = False
                    self._cond.notify_all()
                return
            except Exception as exc:
                log.warning("tracking store refused a write: %s", str(exc)[:300])
                with self._cond:
                    self._refused.append(exc)
            with self._cond:
                self._busy = False
                self._cond.notify_all()
