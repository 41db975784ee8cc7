"""Writes to the tracking store off the training thread: in order, through an outage.

Training hands a `BackgroundWriter` its records (per-epoch metrics, tags, artifacts, run
creations and ends, as plain data: src/tracking/writes.py performs them) and goes on; one
thread stores them in the order given. A write that fails for a passing reason (the server is
down or restarting, a gateway error, a locked SQLite database) is retried every `RETRY_EVERY`
seconds - not with MLflow's exponential back-off, which kept retrying a minute after the server
was back - for as long as it takes: meanwhile every waiting record is on disk
(src/tracking/journal.py), and so is every record past `_IN_MEMORY` waiting at once, so
neither memory nor a kill loses them. Only `flush` waits, and for at most
`tracking.max_outage_seconds` of outage: it then raises `StoreUnavailable` (one line, the job
resumable, its records kept on disk for the next tracker on this store to deliver). A write
the store refuses for good (a bad value) is not retried: `flush` raises it, like a
synchronous call would.

Retried writes are idempotent: metrics keep the timestamp taken when they were handed over
(MLflow skips a metric it already has), params and tags are upserts, artifacts overwrite.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from src.tracking.journal import Journal
from src.tracking.outage import RETRY_EVERY, Outage, StoreUnavailable, outage_error, transient

log = logging.getLogger(__name__)

# Records waiting in memory at most: past that (or once the store does not answer) on disk.
_IN_MEMORY = 2000


class BackgroundWriter:
    """One thread storing a tracker's records in the order they were submitted."""

    def __init__(self, outage: Outage, perform: Callable[[list], Any], spill: Path):
        self._outage = outage
        self._perform = perform
        self._spill = spill
        self._memory: deque[list] = deque()
        self._journal: Journal | None = None  # while records wait on disk: all of them are there
        self._busy = False
        self._cond = threading.Condition()
        self._refused: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self.down_since: float | None = None  # when the store stopped answering
        self._watchers: list[Callable[[int], None]] = []
        self._told = 0  # the waiting count watchers were last told

    # --- the caller's side --------------------------------------------------------------------

    def submit(self, record: list) -> None:
        """Queue `record` (`[op, args]`) to be stored; never waits for the store."""
        with self._cond:
            if self._journal is None and len(self._memory) >= _IN_MEMORY:
                self._to_disk()
            if self._journal is not None:
                self._journal.append(record)
            else:
                self._memory.append(record)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="mlflow-writer", daemon=True
                )
                self._thread.start()
                atexit.register(self._close)
            self._cond.notify_all()

    def flush(self, wait_outage: bool = True) -> None:
        """Wait until every submitted record is in the store. An outage is waited out for at
        most `tracking.max_outage_seconds` (then `StoreUnavailable`), or not at all
        (`wait_outage` false: the records wait on disk). Raises the first write the store
        refused."""
        with self._cond:
            started = time.monotonic()
            while self.waiting and not self._closing:
                if self.down_since is not None:
                    down = time.monotonic() - max(self.down_since, started)
                    if not wait_outage:
                        break
                    if down >= self._outage.max_seconds:
                        since = time.monotonic() - self.down_since
                        raise outage_error(self._outage.uri, since)
                    self._cond.wait(self._outage.max_seconds - down)
                else:
                    self._cond.wait()
            if self._refused:
                error, self._refused = self._refused[0], []
                raise error

    @property
    def waiting(self) -> int:
        """Records handed over and not yet in the store."""
        on_disk = self._journal.unread if self._journal is not None else 0
        return len(self._memory) + on_disk

    def watch(self, told: Callable[[int], None]) -> Callable[[], None]:
        """Call `told(n)` when records wait for a store that does not answer (and with 0 once
        they are stored); returns how to stop."""
        with self._cond:
            self._watchers.append(told)
        return lambda: self._watchers.remove(told) if told in self._watchers else None

    def deliver(self, journal: Journal) -> None:
        """Store every record of an earlier process's `journal`, now, then remove it."""
        while (record := journal.peek()) is not None:
            try:
                self._outage.call(self._perform, record)
            except StoreUnavailable:
                journal.close()
                raise
            except Exception as exc:  # refused for good: it would be refused again
                log.warning("tracking store refused a spilled write: %s", str(exc)[:300])
            journal.advance()
        journal.remove()

    # --- the writer's thread --------------------------------------------------------------------

    def _to_disk(self) -> None:
        self._journal = Journal.create(self._spill)
        for record in self._memory:
            self._journal.append(record)
        self._memory.clear()

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

    def _next(self) -> list | None:
        if self._journal is not None:
            return self._journal.peek()
        return self._memory[0] if self._memory else None

    def _work(self) -> None:
        while True:
            with self._cond:
                while (record := self._next()) is None and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                self._busy = True
            try:
                self._perform(record)
            except Exception as exc:
                if transient(exc):
                    self._store_down(exc)
                    continue
                log.warning("tracking store refused a write: %s", str(exc)[:300])
                with self._cond:
                    self._refused.append(exc)
            with self._cond:
                self._stored()

    def _store_down(self, exc: BaseException) -> None:
        with self._cond:
            self._busy = False
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("tracking store unreachable, retrying: %s", str(exc)[:200])
            if self._journal is None:
                self._to_disk()
            self._tell()
            self._cond.notify_all()
            self._cond.wait(RETRY_EVERY)  # or sooner, when closing

    def _stored(self) -> None:
        """The record `_next` gave is in the store (or refused for good)."""
        if self._journal is not None:
            self._journal.advance()
            if self._journal.unread == 0 and self._journal.peek() is None:
                self._journal.remove()
                self._journal = None
        else:
            self._memory.popleft()
        if self.down_since is not None:
            log.warning("tracking store back after %.0f s", time.monotonic() - self.down_since)
            self.down_since = None
        self._busy = False
        self._tell()
        self._cond.notify_all()

    def _tell(self) -> None:
        """Tell the watchers how many records wait, while the store is away or records
        spilled then are delivered (at most one count in 50 records), and 0 when done."""
        n = self.waiting
        if n == self._told or (n and self._journal is None and self.down_since is None):
            return
        if n and self._told and abs(n - self._told) < 50 and self.down_since is None:
            return
        self._told = n
        for told in list(self._watchers):
            with contextlib.suppress(Exception):
                told(n)
