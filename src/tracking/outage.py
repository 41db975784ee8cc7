"""What an unreachable tracking store is, and how long it is waited for.

A store call that fails for a passing reason (connection refused or reset, a gateway error, a
locked SQLite database) is retried every `RETRY_EVERY` seconds, for at most
`tracking.max_outage_seconds`; then `StoreUnavailable` says so in one line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from src.errors import TrackingError

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest wait between two attempts while the store is unreachable.
RETRY_EVERY = 1.0
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
                time.sleep(min(RETRY_EVERY, self.max_seconds - (now - started)))
