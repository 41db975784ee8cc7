"""How much memory a block of training takes: the process's resident memory, sampled.

TensorFlow's own allocator statistics are empty on a CPU (`get_memory_info("CPU:0")` reports
0 current and 0 peak), and the kernel's high-water mark (`ru_maxrss`, VmHWM) covers the whole
process since it started; resetting it (/proc/self/clear_refs) would also erase the peak a
benchmark reads from outside. So a thread samples the resident set size every few
milliseconds while the block runs; `peak_mb` is the highest sample, `growth_mb` how far it rose
above the resident size at the block's start (what the training itself added: model, optimizer
state, batches, traced graphs). A peak shorter than the interval can be missed.
"""

from __future__ import annotations

import threading

import psutil

_MB = 1024 * 1024


class PeakMemory:
    """`with PeakMemory() as memory: ...` then `memory.peak_mb`, `memory.growth_mb`."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start_mb = self.peak_mb = 0.0

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / _MB)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = self._process.memory_info().rss / _MB
        self._thread = threading.Thread(target=self._watch, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb
