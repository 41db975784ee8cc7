"""Where a job's time goes: its start-up phases and its recurring per-trial costs.

`mark(phase)` notes, the first time a phase is reached, the seconds since the job began: since
the process started (the interpreter's own start-up included) for the first job of a process,
since the job began for the next ones. `cost(name)` adds up a cost paid once per trial. A job
writes both to `timings.json` in its output folder; `make bench` prints them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.runtime.atomic import write_atomically

FILE = "timings.json"


def _process_start() -> float:
    """When this process started, to the clock tick. Not psutil's `create_time`: it counts from
    the boot time in whole seconds (/proc/stat), up to a second off."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - age
    except (OSError, AttributeError, ValueError, IndexError):  # not Linux: the job's own start
        return time.time()


_origin = _process_start()
_marks: dict[str, float] = {}
_costs: dict[str, list[float]] = {}


def begin_job() -> None:
    """A new job in this process: its phases count from now (unless it is the first)."""
    global _origin
    if _marks or _costs:
        _origin = time.time()
        _marks.clear()
        _costs.clear()
    mark("job_started")


def mark(phase: str) -> None:
    _marks.setdefault(phase, round(time.time() - _origin, 3))


@contextmanager
def cost(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _costs.setdefault(name, []).append(time.perf_counter() - started)


def add_cost(name: str, seconds: float) -> None:
    _costs.setdefault(name, []).append(seconds)


def summary() -> dict:
    return {
        "phases": dict(_marks),
        "per_trial": {
            name: {"count": len(v), "mean": round(sum(v) / len(v), 4), "total": round(sum(v), 3)}
            for name, v in _costs.items()
        },
    }


def write(folder: str | Path | None) -> None:
    if folder is not None:
        write_atomically(Path(folder) / FILE, json.dumps(summary(), indent=1))
