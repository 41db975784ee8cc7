"""How a model family and the training step declare what a search may vary.

Each is a frozen dataclass whose fields are its arguments: the field's type is the argument's
type, its default the value used when the search does not mention it, and `arg(...)` adds the
bounds a value must respect. The search space (src/search/space.py) checks every `search.*`
entry against these declarations at start-up, so nothing downstream names a hyperparameter.
"""

from __future__ import annotations

import math
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None
    min_open: bool = False  # min itself is not allowed
    max_open: bool = False  # max itself is not allowed
    choices: tuple | None = None

    def admits(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, int | float) and not math.isfinite(value):
            return False
        lo_ok = self.min is None or (value > self.min if self.min_open else value >= self.min)
        hi_ok = self.max is None or (value < self.max if self.max_open else value <= self.max)
        return lo_ok and hi_ok

    def describe(self) -> str:
        if self.choices is not None:
            return f"choose from {', '.join(map(str, self.choices))}"
        lo = "" if self.min is None else f"{'(' if self.min_open else '['}{self.min:g}"
        hi = "" if self.max is None else f"{self.max:g}{')' if self.max_open else ']'}"
        if lo and hi:
            return f"use values in {lo}, {hi}"
        if lo:
            return f"use values {'>' if self.min_open else '>='} {self.min:g}"
        return f"use values {'<' if self.max_open else '<='} {self.max:g}" if hi else ""


def arg(default: Any, **bounds: Any) -> Any:
    """A dataclass field declaring a searchable argument: `arg(128, min=1, max=65536)`."""
    return field(default=default, metadata={"bounds": Bounds(**bounds)})


@dataclass(frozen=True)
class Argument:
    """One argument a search may vary: its owner (a model family or "training"), type, default."""

    name: str
    owner: str
    type: type
    default: Any
    bounds: Bounds


def arguments_of(cls: type, owner: str) -> dict[str, Argument]:
    """The searchable arguments a dataclass declares, by name."""
    hints = typing.get_type_hints(cls)
    found = {}
    for f in fields(cls):
        if not f.init:
            continue
        default = f.default if f.default is not MISSING else None
        bounds = f.metadata.get("bounds", Bounds())
        found[f.name] = Argument(f.name, owner, hints[f.name], default, bounds)
    return found
