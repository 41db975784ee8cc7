"""The search space: `search.*` config entries -> typed specs -> keras-tuner hyperparameters.

A hyperparameter is declared once, as a `search.<name>` entry; `<name>` is any argument of the
chosen model family (src/model/mlp.py) or of the training step (src/model/training.py). Each
entry is one of

  a fixed value     128                                  -> hp.Fixed
  a list            [64, 128, 256]                       -> hp.Choice
  a range           int 32..512 step 32                  -> hp.Int
                    float 1e-4..1e-2 log                 -> hp.Float
                    (or as a mapping: {int: [32, 512], step: 32}, {float: [..], sampling: log})
  a table per value of another entry, e.g. a learning-rate range per optimizer:
                    {by: optimizer, adam: <entry>, sgd: <entry>}

A range names its type, so a float range never turns into an integer one; written as one
string it is the same on the command line (quoted: 'search.hidden_units=int 16..256 log') as
in YAML, and a command-line value replaces a default range instead of merging into it. A table entry
is declared as `<name>_<value>` under a keras-tuner conditional scope (each scope needs its own
name: keras-tuner drops the value of a name inactive in any scope); the trial's resolved values
carry the single `<name>`. Every entry, table rows for values not chosen included, is checked
against its argument's type and bounds when the space is parsed, before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from src.errors import ConfigError
from src.model.arguments import Argument
from src.search.ranges import _FORMS, RANGE_TEXT, Range, _is_number, parse_range, range_text

_OLD_RANGE = re.compile(r"^\s*(int|float)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Fixed:
    value: Any


@dataclass(frozen=True)
class Choice:
    values: tuple


@dataclass(frozen=True)
class Table:
    """One spec per value of another entry (`by`), e.g. a learning-rate range per optimizer."""

    by: str
    specs: dict[str, Fixed | Choice | Range]


Spec = Fixed | Choice | Range | Table


@dataclass(frozen=True)
class Space:
    """The parsed search space: an entry per declared argument, and every argument's declaration."""

    entries: dict[str, Spec]
    arguments: dict[str, Argument]

    def searched(self) -> list[str]:
        """The names this space varies (the rest are fixed), in the order they were given."""
        return [
            name
            for name in self.entries
            if any(map(_varies, self.used(name))) or self._varies_by_row(name)
        ]

    def used(self, name: str) -> list:
        """The specs of an entry that trials can draw from: a table's rows for the values its
        parent can take (rows for other values are checked, never used)."""
        spec = self.entries[name]
        if not isinstance(spec, Table):
            return [spec]
        chosen = {str(v) for v in values_of(self.entries[spec.by])}
        return [row for key, row in spec.specs.items() if key in chosen]

    def _varies_by_row(self, name: str) -> bool:
        """A table whose fixed rows differ: the value changes with its parent's."""
        rows = self.used(name)
        return (
            isinstance(self.entries[name], Table)
            and not any(map(_varies, rows))
            and len({repr(r) for r in rows}) > 1
        )

    def log_scaled(self) -> set[str]:
        """Names sampled on a log scale: their plots use a log axis."""
        return {
            name
            for name in self.entries
            if any(isinstance(s, Range) and s.sampling != "linear" for s in self.used(name))
        }


def _varies(spec: Spec) -> bool:
    return not isinstance(spec, Fixed)


def values_of(spec: Fixed | Choice | Range) -> tuple:
    """The values a spec can take; a range's bounds only."""
    if isinstance(spec, Fixed):
        return (spec.value,)
    if isinstance(spec, Choice):
        return spec.values
    return (spec.min, spec.max)


def parse_space(search: Mapping[str, Any], arguments: Mapping[str, Argument]) -> Space:
    """Validate the `search` config section against the searchable `arguments`.

    Raises:
        ConfigError: naming the `search.*` field and what is allowed.
    """
    entries: dict[str, Spec] = {}
    for name, raw in search.items():
        if name not in arguments:
            owners = sorted({a.owner for a in arguments.values()})
            raise ConfigError(
                f"search.{name}: {' and '.join(owners)} take no argument {name!r}; "
                f"searchable: {', '.join(sorted(arguments))}"
            )
        entries[name] = _parse_entry(f"search.{name}", raw, arguments[name], allow_table=True)
    for name, spec in entries.items():
        if isinstance(spec, Table):
            _check_table(f"search.{name}", spec, entries, arguments)
    return Space(entries, dict(arguments))


def _parse_entry(where: str, raw: Any, argument: Argument, allow_table: bool = False) -> Spec:
    if isinstance(raw, str) and _OLD_RANGE.match(raw):
        kind = _OLD_RANGE.match(raw).group(1)
        raise ConfigError(
            f"{where}: {raw!r} is the old range syntax; write '{kind} MIN..MAX' with optional "
            "step and sampling, e.g. 'int 32..512 step 32' or 'float 1e-4..1e-2 log'"
        )
    if isinstance(raw, str) and RANGE_TEXT.match(raw):
        return parse_range(where, range_text(where, raw), argument, _checked_value)
    if isinstance(raw, Mapping):
        if "by" in raw:
            if not allow_table:
                raise ConfigError(f"{where}: a table cannot hold another table")
            rows = {str(k): v for k, v in raw.items() if k != "by"}
            specs = {k: _parse_entry(f"{where}.{k}", v, argument) for k, v in rows.items()}
            return Table(str(raw["by"]), specs)
        return parse_range(where, raw, argument, _checked_value)
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        values = tuple(_checked_value(where, v, argument) for v in raw)
        if not values:
            raise ConfigError(f"{where}: the list is empty; give at least one value")
        if len(set(values)) != len(values):
            raise ConfigError(f"{where}: the list {list(values)} repeats a value")
        return Choice(values) if len(values) > 1 else Fixed(values[0])
    if raw is None:
        raise ConfigError(f"{where}: is empty; give {_FORMS}")
    return Fixed(_checked_value(where, raw, argument))


def _checked_value(where: str, value: Any, argument: Argument) -> Any:
    """`value` as the argument's type, within its bounds."""
    kind = argument.type
    if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
        raise ConfigError(f"{where}: {value!r} is not a whole number")
    if kind is float:
        if not _is_number(value):
            raise ConfigError(f"{where}: {value!r} is not a number")
        value = float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: {value!r} is not true or false")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} is not a name")
    if isinstance(value, Mapping | list | tuple):
        raise ConfigError(f"{where}: cannot read {value!r}; give {_FORMS}")
    if not argument.bounds.admits(value):
        raise ConfigError(f"{where}: {value!r} is not allowed; {argument.bounds.describe()}")
    return value


def _check_table(where: str, table: Table, entries: dict, arguments: Mapping) -> None:
    parent = entries.get(table.by)
    if parent is None or isinstance(parent, Table | Range):
        raise ConfigError(
            f"{where}: `by: {table.by}` needs search.{table.by} to be a value or a list"
        )
    by = arguments[table.by]
    for key in table.specs:  # every row, chosen or not, names a value the parent can take
        try:
            typed = by.type(key) if by.type is not bool else key == "True"
        except ValueError:
            typed = None
        if typed is None or not by.bounds.admits(typed):
            raise ConfigError(
                f"{where}.{key}: {table.by} cannot be {key!r}; {by.bounds.describe()}"
            )
    for value in values_of(parent):
        if str(value) not in table.specs:
            raise ConfigError(f"{where}: no entry for {table.by} {value!r}; add {where}.{value}")
