"""Imports that skip what a process never uses: libraries import optional extras when they are
installed (Keras pandas and pyplot, MLflow pandas), and do without them when they are not; and
large imports without Python's cyclic garbage collector running through them."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Iterator

_pauses = 0  # `collection_paused` blocks open, in any thread
_pause_lock = threading.Lock()
_was_enabled = True


@contextlib.contextmanager
def hidden(*names: str) -> Iterator[None]:
    """`import name` raises ImportError meanwhile, for each name not imported yet; importable
    again afterwards."""
    names = tuple(name for name in names if name not in sys.modules)
    for name in names:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in names:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off meanwhile, then every object alive frozen
    (`gc.freeze`: never scanned again, nor its cycles freed: TensorFlow and keras-tuner leave
    1,359 unreachable objects among 455,793) and the collector back on as it was. A large
    import makes hundreds of thousands of objects that live as long as the process, and each
    collection their allocations trigger scans them all again: importing TensorFlow and
    keras-tuner took 1.95 s of CPU with it, 1.6 s without; MLflow, its SQL store and matplotlib
    (a tracking process) 2.0 s and 1.6 s. Nested and concurrent blocks (threads) share one
    pause, which ends with the last of them."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()
