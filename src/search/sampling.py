"""A parsed space declared on keras-tuner's `hp`, and a trial's values resolved for the builder."""

from __future__ import annotations

from typing import Any

from src.search.space import Choice, Fixed, Range, Space, Table, values_of


def declare(hp: Any, name: str, spec: Fixed | Choice | Range) -> Any:
    """Register `spec` under `name` with keras-tuner and return the trial's value."""
    if isinstance(spec, Fixed):
        return hp.Fixed(name, spec.value)
    if isinstance(spec, Choice):
        return hp.Choice(name, list(spec.values))
    if spec.kind == "int":
        return hp.Int(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)
    return hp.Float(name, spec.min, spec.max, step=spec.step, sampling=spec.sampling)


def sample(hp: Any, space: Space) -> dict[str, Any]:
    """Declare the space on `hp`; returns the trial's value of every searchable argument (its
    default where the space does not mention it), typed as the builder takes them."""
    values: dict[str, Any] = {}
    # Tables after the entries they depend on: keras-tuner needs the parent declared first.
    ordered = sorted(space.entries.items(), key=lambda item: isinstance(item[1], Table))
    for name, spec in ordered:
        if not isinstance(spec, Table):
            values[name] = declare(hp, name, spec)
            continue
        # Only rows for values the parent can take this sweep (the others are checked, unused).
        for parent_value in values_of(space.entries[spec.by]):
            key = str(parent_value)
            row = spec.specs[key]
            with hp.conditional_scope(spec.by, [parent_value]):
                value = declare(hp, f"{name}_{key}", row)
            if str(values[spec.by]) == key:
                values[name] = value
    resolved = {}
    for name, argument in space.arguments.items():
        value = values.get(name, argument.default)
        resolved[name] = argument.type(value) if value is not None else None
    return resolved


def short(values: dict[str, Any], names: list[str]) -> str:
    """`hidden_units=256 optimizer=adam learning_rate=0.0012`: the named values, briefly."""
    return " ".join(
        f"{k}={values[k]:.3g}" if isinstance(values[k], float) else f"{k}={values[k]}"
        for k in names
        if k in values
    )
