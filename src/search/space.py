"""The search space: config data -> typed specs -> keras-tuner hyperparameters -> model arguments.

Each `search.*` entry is one of
  - a fixed value            `128`                              -> hp.Fixed
  - a list                   `[64, 128, 256]`                   -> hp.Choice
  - a range                  `int(32, 512, step=32)`,
                             `float(1e-4, 1e-2, sampling=log)`,
                             or {min: .., max: .., step: .., sampling: ..} -> hp.Int / hp.Float
`search.learning_rate: by_optimizer` takes each optimizer's own entry from
`search.learning_rate_by_optimizer`, declared as `learning_rate_<optimizer>` under a keras-tuner
conditional scope, so the rate sampled for SGD comes from SGD's range and Adam's from Adam's.
(Each scope needs its own name: keras-tuner drops the value of a name that is inactive in any
scope.) The resolved `ModelParams` always carry a single `learning_rate`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from src.errors import ConfigError
from src.model import OPTIMIZERS, ModelParams

BY_OPTIMIZER = "by_optimizer"
SAMPLINGS = ("linear", "log", "reverse_log")
_RANGE = re.compile(r"^\s*(int|float)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Fixed:
    value: Any


@dataclass(frozen=True)
class Choice:
    values: tuple


@dataclass(frozen=True)
class Range:
    kind: str  # "int" or "float"
    min: float
    max: float
    step: float | None = None
    sampling: str = "linear"


Spec = Fixed | Choice | Range


@dataclass(frozen=True)
class Space:
    hidden_units: Spec
    layers: Spec
    dropout: Spec
    optimizer: Spec
    # One spec for every optimizer, or one per optimizer name.
    learning_rate: Spec | dict[str, Spec]


def _parse_range_text(field_name: str, text: str) -> Range:
    kind, args = _RANGE.match(text).groups()
    try:
        call = ast.parse(f"f({args})", mode="eval").body
        positional = [ast.literal_eval(a) for a in call.args]
        # Bare words are allowed for sampling: float(1e-4, 1e-2, sampling=log).
        named = {
            k.arg: (k.value.id if isinstance(k.value, ast.Name) else ast.literal_eval(k.value))
            for k in call.keywords
        }
    except (SyntaxError, ValueError) as exc:
        raise ConfigError(
            f"search.{field_name}: cannot read {text!r} ({exc.__class__.__name__}); "
            f"write e.g. {kind}(1, 10, step=1)"
        ) from None
    keys = ["min", "max", "step", "sampling"]
    if len(positional) > len(keys):
        raise ConfigError(f"search.{field_name}: {text!r} has too many arguments")
    fields = dict(zip(keys, positional, strict=False))
    for key, value in named.items():
        if key not in keys or key in fields:
            raise ConfigError(
                f"search.{field_name}: unexpected argument {key!r} in {text!r}; "
                "use min, max, step, sampling"
            )
        fields[key] = value
    return _make_range(field_name, kind, fields)


def _make_range(field_name: str, kind: str, fields: Mapping[str, Any]) -> Range:
    where = f"search.{field_name}"
    unknown = set(fields) - {"min", "max", "step", "sampling"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown range key(s) {sorted(unknown)}; use min, max, step, sampling"
        )
    if "min" not in fields or "max" not in fields:
        raise ConfigError(f"{where}: a range needs both min and max")
    lo, hi = fields["min"], fields["max"]
    for name, value in (("min", lo), ("max", hi), ("step", fields.get("step"))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if kind == "int" and not all(float(v).is_integer() for v in (lo, hi)):
        raise ConfigError(f"{where}: int range bounds must be whole numbers, got {lo}, {hi}")
    if lo > hi:
        raise ConfigError(f"{where}: min {lo} is greater than max {hi}; swap them")
    sampling = str(fields.get("sampling") or "linear")
    if sampling not in SAMPLINGS:
        raise ConfigError(
            f"{where}: sampling {sampling!r} unknown; use one of {', '.join(SAMPLINGS)}"
        )
    if sampling != "linear" and lo <= 0:
        raise ConfigError(f"{where}: {sampling} sampling needs min > 0, got {lo}")
    step = fields.get("step")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: step must be > 0, got {step}")
    if kind == "int":
        return Range("int", int(lo), int(hi), None if step is None else int(step), sampling)
    return Range("float", float(lo), float(hi), None if step is None else float(step), sampling)


def parse_spec(field_name: str, raw: Any) -> Spec:
    """Turn one config entry into a Fixed, Choice or Range spec (not yet range-checked)."""
    if isinstance(raw, str) and _RANGE.match(raw):
        return _parse_range_text(field_name, raw)
    if isinstance(raw, Mapping):
        # Whole-number bounds (and step) make an integer range, as with hp.Int.
        kind = "int" if all(_is_int(raw.get(k, 1)) for k in ("min", "max", "step")) else "float"
        return _make_range(field_name, kind, dict(raw))
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        values = tuple(raw)
        if not values:
            raise ConfigError(f"search.{field_name}: the list is empty; give at least one value")
        if len(set(values)) != len(values):
            raise ConfigError(f"search.{field_name}: the list {list(values)} repeats a value")
        return Choice(values) if len(values) > 1 else Fixed(values[0])
    if raw is None:
        raise ConfigError(f"search.{field_name}: is empty; give a value, a list or a range")
    return Fixed(raw)


def spec_values(spec: Spec) -> tuple:
    """The concrete values a spec can take, bounds only for ranges (for range checks)."""
    if isinstance(spec, Fixed):
        return (spec.value,)
    if isinstance(spec, Choice):
        return spec.values
    return (spec.min, spec.max)


def _check(field_name: str, spec: Spec, ok, allowed: str) -> None:
    if isinstance(spec, Range) and field_name in ("optimizer",):
        raise ConfigError(f"search.{field_name}: cannot be a range; use a name or a list of names")
    for value in spec_values(spec):
        if not ok(value):
            raise ConfigError(f"search.{field_name}: {value!r} is not allowed; {allowed}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_space(search: Mapping[str, Any]) -> Space:
    """Validate the `search` config section and return the typed space.

    Raises:
        ConfigError: naming the `search.*` field and what is allowed.
    """
    hidden = parse_spec("hidden_units", search["hidden_units"])
    _check(
        "hidden_units",
        hidden,
        lambda v: _is_int(v) and 1 <= v <= 65536,
        "use whole numbers between 1 and 65536",
    )
    layers = parse_spec("layers", search["layers"])
    _check(
        "layers",
        layers,
        lambda v: _is_int(v) and 1 <= v <= 16,
        "use whole numbers between 1 and 16",
    )
    dropout = parse_spec("dropout", search["dropout"])
    _check("dropout", dropout, lambda v: _is_number(v) and 0 <= v < 1, "use fractions in [0, 1)")
    optimizer = parse_spec("optimizer", search["optimizer"])
    _check(
        "optimizer", optimizer, lambda v: v in OPTIMIZERS, f"choose from {', '.join(OPTIMIZERS)}"
    )

    def lr_spec(where: str, raw: Any) -> Spec:
        spec = parse_spec(where, raw)
        _check(where, spec, lambda v: _is_number(v) and v > 0, "learning rates must be numbers > 0")
        return spec

    raw_lr = search["learning_rate"]
    if raw_lr == BY_OPTIMIZER:
        table = search.get("learning_rate_by_optimizer") or {}
        learning_rate: Spec | dict[str, Spec] = {}
        for name in spec_values(optimizer):
            if name not in table:
                raise ConfigError(
                    f"search.learning_rate_by_optimizer: no entry for optimizer "
                    f"{name!r}; add search.learning_rate_by_optimizer.{name}"
                )
            learning_rate[name] = lr_spec(f"learning_rate_by_optimizer.{name}", table[name])
    else:
        learning_rate = lr_spec("learning_rate", raw_lr)
    return Space(hidden, layers, dropout, optimizer, learning_rate)


def declare(hp: Any, name: str, spec: Spec) -> Any:
    """Register `spec` under `name` with keras-tuner and return the trial's value."""
    if isinstance(spec, Fixed):
        return hp.Fixed(name, spec.value)
    if isinstance(spec, Choice):
        return hp.Choice(name, list(spec.values))
    if spec.kind == "int":
        return hp.Int(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
    return hp.Float(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)


def sample(hp: Any, space: Space) -> ModelParams:
    """Declare the space on `hp` and return the trial's values as plain model arguments."""
    optimizer = declare(hp, "optimizer", space.optimizer)
    if isinstance(space.learning_rate, dict):
        learning_rate = None
        for name, spec in space.learning_rate.items():
            with hp.conditional_scope("optimizer", [name]):
                value = declare(hp, f"learning_rate_{name}", spec)
            if name == optimizer:
                learning_rate = value
    else:
        learning_rate = declare(hp, "learning_rate", space.learning_rate)
    return ModelParams(
        hidden_units=int(declare(hp, "hidden_units", space.hidden_units)),
        layers=int(declare(hp, "layers", space.layers)),
        dropout=float(declare(hp, "dropout", space.dropout)),
        optimizer=str(optimizer),
        learning_rate=float(learning_rate),
    )


def searched(space: Space) -> list[str]:
    """The model arguments this space varies (the rest are fixed)."""
    names = [
        name
        for name in ("hidden_units", "layers", "dropout", "optimizer")
        if not isinstance(getattr(space, name), Fixed)
    ]
    rates = space.learning_rate
    if isinstance(rates, dict):
        if len(rates) > 1 or any(not isinstance(spec, Fixed) for spec in rates.values()):
            names.append("learning_rate")
    elif not isinstance(rates, Fixed):
        names.append("learning_rate")
    return names
