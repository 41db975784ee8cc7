"""Writes to the tracking store off the training thread: in order, through an outage.

Training hands a `BackgroundWriter` its records (per-epoch metrics, tags, artifacts, run
creations and ends, as plain data: src/tracking/writes.py performs them) and goes on; one
thread stores them in the order given. Each record is written to the writer's journal first
(src/tracking/journal.py: a file, with any artifact linked beside it), so a kill of the job or
of its tracking process loses nothing handed over, and memory holds none of them however long
the store is away. A write that fails for a passing reason (the server is down or restarting,
a gateway error, a locked SQLite database) is retried every `RETRY_EVERY` seconds - not with
MLflow's exponential back-off, which kept retrying a minute after the server was back - for as
long as it takes. Only `flush` waits, and for at most `tracking.max_outage_seconds` of outage
in all: it then raises `StoreUnavailable` (one line, the job resumable, its records left in
the journal for the next tracker on this store to deliver). A write the store refuses for good
(a bad value) is not retried: `flush` raises it, like a synchronous call would; so is one
that fails as if the store were away ten times while the store answers otherwise.

Retried writes are idempotent: metrics keep the timestamp taken when they were handed over
(MLflow skips a metric it already has), params and tags are upserts, artifacts overwrite.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from src.tracking.journal import Journal
from src.tracking.outage import RETRY_EVERY, Outage, StoreUnavailable, outage_error, transient

log = logging.getLogger(__name__)

# Failures of one record, as if the store were away, before the store is asked whether it is.
_PROBE_AFTER = 10
# While spilled records are delivered, the waiting count is told once in this many.
_TELL_EVERY = 50


def answers(probe: Callable[[], Any] | None) -> bool:
    """Whether the store answers `probe` (a light call); without one, it is not known to."""
    if probe is None:
        return False
    try:
        probe()
    except Exception:
        return False
    return True


def deliver(
    journal: Journal, outage: Outage, perform: Callable[[list], Any], probe: Callable[[], Any]
) -> None:
    """Store every record of an earlier process's `journal`, now, then remove it. A record the
    store refuses (for good, or as if away while it answers `probe`) is skipped with a warning;
    an outage longer than `outage` allows leaves the rest for later (`StoreUnavailable`)."""
    while (record := journal.peek()) is not None:
        try:
            outage.call(perform, record)
        except StoreUnavailable:
            if not answers(probe):
                journal.close()
                raise
            log.warning("tracking store refused a spilled write: %s", str(record)[:200])
        except Exception as exc:  # refused for good: it would be refused again
            log.warning("tracking store refused a spilled write: %s", str(exc)[:300])
        journal.advance()
    journal.remove()


class BackgroundWriter:
    """One thread storing a tracker's records in the order they were submitted."""

    def __init__(
        self,
        outage: Outage,
        perform: Callable[[list], Any],
        spill: Path,
        probe: Callable[[], Any] | None = None,
    ):
        self._outage, self._perform, self._spill, self._probe = outage, perform, spill, probe
        self._journal: Journal | None = None
        self._busy = False
        self._cond = threading.Condition()
        self._refused: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self.down_since: float | None = None  # when the store stopped answering
        self._waited_since: float | None = None  # when a flush began waiting for it
        self._failures = 0  # of the record in hand
        self._watchers: list[Callable[[int], None]] = []
        self._told = 0  # the waiting count watchers were last told

    # --- the caller's side --------------------------------------------------------------------

    def submit(self, record: list) -> None:
        """Queue `record` (`[op, args]`) to be stored; never waits for the store."""
        with self._cond:
            if self._journal is None:
                self._journal = Journal.create(self._spill)
            self._journal.append(record)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="mlflow-writer", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)
            self._cond.notify_all()

    def flush(self, wait_outage: bool = True) -> None:
        """Wait until every submitted record is in the store. An outage is waited out for at
        most `tracking.max_outage_seconds` in all (then `StoreUnavailable`), or not at all
        (`wait_outage` false: the records wait in the journal). Raises the first write the
        store refused."""
        with self._cond:
            while self.waiting and not self._closing:
                if self.down_since is None:
                    self._cond.wait()
                    continue
                if not wait_outage:
                    break
                now = time.monotonic()
                self._waited_since = self._waited_since or now
                waited = now - self._waited_since
                if waited >= self._outage.max_seconds:
                    raise outage_error(self._outage.uri, now - self.down_since)
                self._cond.wait(self._outage.max_seconds - waited)
            if self._refused:
                error, self._refused = self._refused[0], []
                raise error

    @property
    def waiting(self) -> int:
        """Records handed over and not yet in the store."""
        return self._journal.unread if self._journal is not None else 0

    def watch(self, told: Callable[[int], None]) -> Callable[[], None]:
        """Call `told(n)` when records wait for a store that does not answer (and as they are
        delivered, and with 0 once all are stored); returns how to stop."""
        with self._cond:
            self._watchers.append(told)
        return lambda: self._watchers.remove(told) if told in self._watchers else None

    def finishing(self) -> None:
        """This process is about to end: a tracker opened meanwhile waits for its journal."""
        with self._cond:
            if self._journal is not None:
                self._journal.mark_finishing()

    def close(self, grace: float = 5.0) -> None:
        """Let a write in progress finish (for at most `grace` seconds) and start no other;
        the journal goes if all is stored, else it stays for the next tracker on this store.
        Also at the interpreter's exit: no store call then runs while Python tears down (a
        daemon thread inside SQLite or a socket can crash the exit)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            deadline = time.monotonic() + grace
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            if self._journal is not None and not self._busy:
                self._journal.remove() if self._journal.unread == 0 else self._journal.close()
                self._journal = None

    # --- the writer's thread --------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (record := self._journal.peek()) is None:
                    self._cond.wait()
                if self._closing:
                    return
                self._busy = True
            try:
                self._perform(record)
            except Exception as exc:
                if transient(exc) and not self._bad(record):
                    self._store_down(exc)
                    continue
                log.warning("tracking store refused a write: %s", str(exc)[:300])
                with self._cond:
                    self._refused.append(exc)
            with self._cond:
                self._journal.advance()
                self._failures, self._busy = 0, False
                if self.down_since is not None:
                    log.warning(
                        "tracking store back after %.0f s", time.monotonic() - self.down_since
                    )
                    self.down_since = self._waited_since = None
                self._cond.notify_all()
                count = self._count_to_tell()
            self._tell(count)

    def _bad(self, record: list) -> bool:
        """Whether a record that failed as if the store were away is refused by a store that
        answers (asked every `_PROBE_AFTER` failures)."""
        self._failures += 1
        return self._failures % _PROBE_AFTER == 0 and answers(self._probe)

    def _store_down(self, exc: BaseException) -> None:
        with self._cond:
            self._busy = False
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("tracking store unreachable, retrying: %s", str(exc)[:200])
            self._cond.notify_all()
            count = self._count_to_tell()
        self._tell(count)
        with self._cond:
            self._cond.wait_for(lambda: self._closing, RETRY_EVERY)

    def _count_to_tell(self) -> int | None:
        """The waiting count to tell the watchers, if there is news: while the store is
        away, as spilled records are delivered (one count in `_TELL_EVERY`), and 0 at the end;
        nothing while the store takes records as they come."""
        n = self.waiting
        if n == self._told or (self.down_since is None and self._told == 0):
            return None
        if self.down_since is None and n and abs(n - self._told) < _TELL_EVERY:
            return None
        self._told = n
        return n

    def _tell(self, count: int | None) -> None:
        if count is None:
            return
        for told in list(self._watchers):
            with contextlib.suppress(Exception):
                told(count)
