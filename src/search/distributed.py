"""keras-tuner's distributed tuning: a chief serves the oracle over gRPC, workers run trials.

Nothing here schedules trials: keras-tuner's own `OracleServicer` and `OracleClient` do, selected
by `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. The chief
(`chief.run_chief`) is the job's own process; a worker is
`python -m src.sweep <the same config> distributed.role=worker`: it finds the job's run (by
search key, in the shared tracking store), asks the chief for trials and records each as a
child run of the job, tagged with its `tuner_id`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

from src.config.schema import DistributedConfig
from src.errors import DistributedError, JobFailed
from src.runtime import signals
from src.search import kt_private

log = logging.getLogger("sweep")

# From a local chief to the workers it starts (all variables: src/job/context.py).
# The job run a local worker records its trials under.
JOB_RUN_ENV = "SWEEP_JOB_RUN_ID"
# A local worker's chief: when that process is gone, the worker stops (its trial marked KILLED).
CHIEF_PID_ENV = "SWEEP_CHIEF_PID"
POLL_SECONDS = 0.5
# A worker stopped by its chief gets this long to close its trial's run before SIGKILL.
STOP_GRACE_SECONDS = 60


def parse_address(text: str | None, field_name: str = "distributed.chief") -> tuple[str, int]:
    host, _, port = str(text or "").rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise DistributedError(f"{field_name}: got {text!r}; use HOST:PORT, e.g. 10.0.0.5:8470")
    return host, int(port)


def is_chief(d: DistributedConfig) -> bool:
    return d.role == "chief" or (d.role == "local" and d.workers > 0)


def is_worker(d: DistributedConfig) -> bool:
    return d.role == "worker"


def worker_threads(threads: int, d: DistributedConfig) -> int:
    """TensorFlow threads per local worker: `train.threads`, or with 0 (all cores) the
    machine's cores shared among the workers."""
    if threads > 0:
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, d.workers))


def connect_worker(d: DistributedConfig) -> str:
    """Point keras-tuner at the chief (its environment variables); returns this tuner id."""
    host, port = parse_address(d.chief)
    tuner_id = d.tuner_id or f"worker-{socket.gethostname()}"
    if "chief" in tuner_id:  # keras-tuner would take it for the chief
        raise DistributedError(
            f"distributed.tuner_id: got {tuner_id!r}; a worker's id must not contain 'chief'"
        )
    kt_private.quiet()
    os.environ["KERASTUNER_TUNER_ID"] = tuner_id
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = str(port)
    return tuner_id


def job_run_of(tracker, key: str, timeout: float) -> str | None:
    """The chief's job run this worker records under: given by a local chief, else the RUNNING
    job run of the same search in the shared store (waiting for the chief to open it)."""
    given = os.environ.get(JOB_RUN_ENV)
    if given or not tracker.enabled:
        return given or None
    deadline = time.monotonic() + timeout
    while True:
        found = tracker.find_job_run(key, running=True)
        if found is not None or time.monotonic() > deadline:
            break
        time.sleep(2)
    if found is None:
        raise JobFailed(
            f"distributed: no running job of this search (key {key}) in the tracking store "
            f"after {timeout:.0f} s; start the chief first, with the same config and tracking.uri"
        )
    return found


def watch_chief() -> None:
    """A local worker stops (SIGTERM to itself: its trial is marked KILLED) when its chief is
    gone, instead of waiting for it for an hour."""
    chief = os.environ.get(CHIEF_PID_ENV)
    if not chief:
        return

    def watch() -> None:
        while os.getppid() == int(chief):
            time.sleep(1)
        if signals.received() is None:  # one stop signal: it may be closing up already
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-chief", daemon=True).start()
