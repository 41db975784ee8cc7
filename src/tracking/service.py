"""The tracking process of `RemoteTracker`s (src/tracking/remote.py), one of two kinds:

    python -m src.tracking.service FD             # one job's: FD is its end of a socket pair
    python -m src.tracking.service --listen PATH  # a multirun's: its jobs connect to PATH

The first message of a connection opens a `Tracker` (MLflow imported, the store opened; in a
multirun one `Tracker` per store serves every job); each later one is a method of it, answered
in order with its result (runs as plain data: a job never unpickles an MLflow object) or its
exception's name and text. Ctrl-C and SIGTERM are the jobs' to handle: ignored here. A job's
tracking process ends once the job closes its end (or dies), a multirun's once its entry process
does; either stores what it was given first.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Listener
from types import SimpleNamespace
from typing import Any

from src.runtime.imports import collection_paused, hidden

# Imported inside functions: the tracker (MLflow) loads in the tracking process once it starts,
# not in the job that spawns it.

log = logging.getLogger(__name__)

_IMPORTING = threading.Lock()  # MLflow's import ahead, and the opening of a store


def plain(result: Any) -> Any:
    """MLflow runs (and lists of them) as plain objects with the same `.info`/`.data` fields."""
    if isinstance(result, list):
        return [plain(r) for r in result]
    if hasattr(result, "info") and hasattr(result, "data"):
        info, data = result.info, result.data
        return SimpleNamespace(
            info=SimpleNamespace(
                run_id=info.run_id,
                run_name=info.run_name,
                status=info.status,
                start_time=info.start_time,
                end_time=info.end_time,
            ),
            data=SimpleNamespace(
                tags=dict(data.tags), params=dict(data.params), metrics=dict(data.metrics)
            ),
        )
    return result


class Trackers:
    """The `Tracker`s of a tracking process, one per store and settings, opened on demand."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[tuple, Any] = {}
        self.first_opened = threading.Event()  # opened or refused: what jobs wait for is done

    def get(self, args: tuple) -> Any:
        from src.tracking.runs import Tracker

        with self._lock:
            if args not in self._open:
                try:
                    with _IMPORTING:  # never while MLflow is imported with pandas hidden
                        self._open[args] = Tracker(*args)
                finally:
                    self.first_opened.set()
            return self._open[args]

    def finish(self) -> None:
        """Store what each tracker was given (what an outage holds up waits on disk)."""
        for tracker in list(self._open.values()):
            tracker.finish()


def serve(conn: Connection, trackers: Trackers) -> None:
    """Answer one job's messages, in order, until it closes its end. While the store does not
    answer, the job is also told how many of its records wait (`WAITING`)."""
    from src.tracking.remote import WAITING

    tracker, failure, unwatch = None, None, None
    sending = threading.Lock()  # answers, and counts told from the writer's thread

    def send(message: tuple) -> None:
        with sending, contextlib.suppress(OSError):  # the job is gone: go on storing
            conn.send(message)

    while True:
        try:
            seq, name, args, kwargs = conn.recv()
        except (EOFError, OSError):
            break
        try:
            if name == "open":
                try:
                    tracker = trackers.get(tuple(args))
                except BaseException as exc:
                    failure = exc
                    raise
                unwatch = tracker.watch(lambda n: send((WAITING, True, n)))
                result = None
            elif tracker is None:
                raise failure or RuntimeError("the tracker was not opened")
            else:
                found = getattr(tracker, name)
                result = plain(found(*args, **kwargs) if callable(found) else found)
            answer = (seq, True, result)
        except Exception as exc:
            answer = (seq, False, (type(exc).__name__, str(exc)))
        send(answer)
    if unwatch is not None:
        unwatch()
    conn.close()


def listen(path: str, trackers: Trackers) -> Callable[[], None]:
    """Serve every job that connects to `path`, each in a thread; returns how to stop."""
    from src.runtime.ahead import KEY_ENV

    listener = Listener(path, family="AF_UNIX", authkey=bytes.fromhex(os.environ[KEY_ENV]))
    threads: list[threading.Thread] = []

    def accept() -> None:
        while True:
            try:
                conn = listener.accept()
            except OSError:
                return  # closed: the multirun is over
            except Exception:
                continue  # a connection that could not authenticate
            thread = threading.Thread(target=serve, args=(conn, trackers), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()

    def stop() -> None:
        listener.close()
        for thread in threads:
            thread.join()

    return stop


def _import_ahead(store_opened: threading.Event) -> None:
    """MLflow, imported while the jobs start. Without pandas, which it imports for data frame
    datasets when installed and does without otherwise (0.27 s of 0.9 s, measured): this
    process only writes runs. (Its pictures need no matplotlib: src/pictures/charts.py.)"""
    # The collector paused until it is imported, the first store's opening included.
    with collection_paused():
        # Hidden for every thread: a store opened meanwhile waits (`_IMPORTING`).
        with _IMPORTING, contextlib.suppress(Exception), hidden("pandas"):
            importlib.import_module("mlflow.tracking")  # a failure shows when it is used
        store_opened.wait(10)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Where a job's own log lines go (Hydra's console handler): the outage warnings.
    logging.basicConfig(
        stream=sys.stdout, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
    )
    trackers = Trackers()
    # MLflow imported while the jobs start, before they ask for it; in a thread, so that a
    # command that ends at once (its input refused) does not wait for it.
    threading.Thread(target=_import_ahead, args=(trackers.first_opened,), daemon=True).start()
    if sys.argv[1] == "--listen":
        stop = listen(sys.argv[2], trackers)
        sys.stdin.read()  # until the entry process closes it, or ends
        stop()
    else:
        serve(Connection(int(sys.argv[1])), trackers)
    trackers.finish()
    # All is stored (SQLite committed, the server answered): the interpreter's teardown of MLflow
    # and SQLAlchemy would only keep the job waiting (0.8 s at a job's end).
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
