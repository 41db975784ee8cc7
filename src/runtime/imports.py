"""Imports that skip what a process never uses: libraries import optional extras when they are
installed (Keras pandas and pyplot, MLflow pandas), and do without them when they are not."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


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
