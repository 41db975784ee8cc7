"""The CPU time of each process of a running command, read while it runs.

What a sweep's tracking process costs in CPU seconds is a steadier figure than the wall-time
ratio of a tracked and an untracked sweep: this machine's speed drifts by more than the 5% the
overhead is held to, run to run. On cores the jobs keep busy, the tracking process's CPU
divided by the number of cores is about the wall time it adds.

Read with psutil, as the project reads its processes (src/runtime/signals.py): the process
table every `every` seconds (about 2 ms of CPU a reading among 64 processes), a process's
time being its last reading, up to `every` seconds before it ended.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import psutil

TRACKING = "src.tracking.service"  # the command line of a sweep's tracking process


class TreeCPU:
    """CPU seconds of a process and its descendants, by kind: each process is of the first
    kind whose text its command line holds, else of kind "other"; the root is "entry"."""

    def __init__(self, root: int, kinds: Mapping[str, str], every: float = 0.1):
        self.root = psutil.Process(root)
        self.kinds = dict(kinds)
        self.every = every
        self._seen: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> TreeCPU:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Stop watching; the CPU seconds per kind."""
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = {}
        for kind, seconds in self._seen.values():
            totals[kind] = totals.get(kind, 0.0) + seconds
        return totals

    def _watch(self) -> None:
        while True:
            self.read()
            if self._stop.wait(self.every):
                return

    def read(self) -> None:
        """One reading of the process table now (the watcher reads every `every` seconds)."""
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return  # the command has ended
        for process in tree:
            kind, seconds = self._seen.get(process.pid, ("other", 0.0))
            try:
                if kind == "other":  # a new process's command line is its parent's until it execs
                    kind = self._kind(process)
                used = process.cpu_times()
            except psutil.Error:
                continue  # ended meanwhile
            self._seen[process.pid] = (kind, max(used.user + used.system, seconds))

    def _kind(self, process: psutil.Process) -> str:
        if process.pid == self.root.pid:
            return "entry"
        line = " ".join(process.cmdline())
        return next((kind for kind, text in self.kinds.items() if text in line), "other")
