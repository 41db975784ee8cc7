"""A range in a search space: `int 32..512 step 32`, `float 1e-4..1e-2 log`, or the same as a
mapping ({int: [32, 512], step: 32}); its type is always named, never guessed from its bounds."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from src.errors import ConfigError
from src.model.arguments import Argument

SAMPLINGS = ("linear", "log", "reverse_log")
RANGE_TEXT = re.compile(r"^\s*(int|float)\s+(\S+?)\s*\.\.\s*(\S+)((?:\s+\S+)*)\s*$")
_FORMS = (
    "a value, a list, a range ('int 32..512 step 32', 'float 1e-4..1e-2 log'), "
    "or a table {by: <entry>, <value>: ...}"
)


@dataclass(frozen=True)
class Range:
    kind: str  # "int" or "float"
    min: float
    max: float
    step: float | None = None
    sampling: str = "linear"


def range_text(where: str, text: str) -> dict:
    """'float 1e-4..1e-2 log' -> {float: [1e-4, 1e-2], sampling: log}."""
    kind, lo, hi, rest = RANGE_TEXT.match(text).groups()
    words = rest.split()
    fields: dict[str, Any] = {}
    try:
        fields[kind] = [_number(lo), _number(hi)]
        while words:
            word = words.pop(0)
            if word == "step" and words:
                fields["step"] = _number(words.pop(0))
            elif word in SAMPLINGS:
                fields["sampling"] = word
            else:
                raise ValueError(word)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: cannot read {text!r} at {str(exc)!r}; write e.g. 'int 32..512 step 32' "
            f"or 'float 1e-4..1e-2 log' (samplings: {', '.join(SAMPLINGS)})"
        ) from None
    return fields


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_range(
    where: str, raw: Mapping, argument: Argument, checked: Callable[[str, Any, Argument], Any]
) -> Range:
    """A range spec from its mapping form, its bounds checked by `checked`."""
    kinds = [k for k in ("int", "float") if k in raw]
    unknown = set(raw) - {"int", "float", "step", "sampling"}
    if len(kinds) != 1 or unknown:
        raise ConfigError(f"{where}: cannot read {dict(raw)}; give {_FORMS}")
    kind = kinds[0]
    if argument.type not in (int, float):
        raise ConfigError(f"{where}: {argument.name} takes a {argument.type.__name__}, not a range")
    if kind == "int" and argument.type is float:
        raise ConfigError(f"{where}: {argument.name} is a float; write 'float MIN..MAX'")
    if kind == "float" and argument.type is int:
        raise ConfigError(f"{where}: {argument.name} is a whole number; write 'int MIN..MAX'")
    bounds = raw[kind]
    if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
        raise ConfigError(f"{where}: write the bounds as {{{kind}: [min, max]}}, got {bounds!r}")
    lo, hi = (checked(where, b, argument) for b in bounds)
    if lo > hi:
        raise ConfigError(f"{where}: min {lo} is greater than max {hi}; swap them")
    sampling = str(raw.get("sampling") or "linear")
    if sampling not in SAMPLINGS:
        raise ConfigError(
            f"{where}: sampling {sampling!r} unknown; use one of {', '.join(SAMPLINGS)}"
        )
    if sampling != "linear" and lo <= 0:
        raise ConfigError(f"{where}: {sampling} sampling needs min > 0, got {lo}")
    step = raw.get("step")
    if step is not None and (
        not _is_number(step) or step <= 0 or (kind == "int" and not float(step).is_integer())
    ):
        raise ConfigError(
            f"{where}: step must be a {'whole ' if kind == 'int' else ''}number > 0, got {step!r}"
        )
    if kind == "int":
        return Range("int", int(lo), int(hi), None if step is None else int(step), sampling)
    return Range("float", float(lo), float(hi), None if step is None else float(step), sampling)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
