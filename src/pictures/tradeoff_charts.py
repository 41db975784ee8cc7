"""The pictures of what mattered, written as SVG (src/pictures/svg.py): each searched
hyperparameter's importance as bars, and val_accuracy against a cost with its Pareto front."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from src.model import OBJECTIVE
from src.pictures.svg import COLOURS, Axes, Canvas, label


def importance(
    shares: Mapping[str, float],
    path: Path,
    job: str = "",
    noise: Mapping[str, bool] | None = None,
) -> Path:
    """One bar per hyperparameter, largest on top, its share written beside it; a bar whose
    effect is within seed noise (`noise`) is grey and says so."""
    names = sorted(shares, key=shares.get, reverse=True)
    left, bar, width = 150, 24, 360
    canvas = Canvas(left + width + 150, 76 + bar * max(len(names), 1) + 30)
    _heading(canvas, f"importance for {OBJECTIVE} (fANOVA)", job)
    for i, name in enumerate(names):
        y = 60 + i * bar
        grey = bool(noise and noise.get(name))
        canvas.rect(
            left, y + 3, max(shares[name], 0.002) * width, bar - 6, "#bbb" if grey else COLOURS[0]
        )
        canvas.text(left - 8, y + bar / 2 + 4, name, 11, "end")
        note = " (within seed noise)" if grey else ""
        canvas.text(
            left + shares[name] * width + 6,
            y + bar / 2 + 4,
            f"{shares[name]:.2f}{note}",
            10,
            "start",
        )
    canvas.text(left + width / 2, canvas.height - 10, "share of val_accuracy's variance", 10)
    return canvas.save(path)


def pareto(
    trials: Sequence[Mapping], front: Sequence[str], cost: str, path: Path, job: str = ""
) -> Path:
    """Each trial's val_accuracy against `cost` (`{"trial_id", cost, OBJECTIVE}` rows); the
    front's trials (their ids in `front`) in colour, joined and named, the others grey."""
    points = [t for t in trials if all(_finite(t.get(k)) for k in (cost, OBJECTIVE))]
    canvas = Canvas(560, 380)
    _heading(canvas, f"{OBJECTIVE} against {cost}: Pareto front of {len(front)} trials", job)
    xs = [t[cost] for t in points] or [0.0]
    ys = [t[OBJECTIVE] for t in points] or [0.0]
    ax = Axes(canvas, (80, 60, 440, 260), (min(xs), max(xs)), (min(ys), max(ys)))
    ax.titles("", cost, OBJECTIVE)
    on = sorted((t for t in points if t["trial_id"] in front), key=lambda t: t[cost])
    for t in points:
        if t["trial_id"] not in front:
            canvas.circle(ax.px(t[cost]), ax.py(t[OBJECTIVE]), 4, "#999", 0.7)
    steps = []
    for t in on:  # a staircase: a better trial costs more
        if steps:
            steps.append((ax.px(t[cost]), steps[-1][1]))
        steps.append((ax.px(t[cost]), ax.py(t[OBJECTIVE])))
    canvas.polyline(steps, COLOURS[1], 1.5)
    for t in on:
        x, y = ax.px(t[cost]), ax.py(t[OBJECTIVE])
        canvas.circle(x, y, 5, COLOURS[1])
        canvas.text(x + 7, y - 6, f"{t['trial_id']} ({label(t[cost])})", 9, "start")
    return canvas.save(path)


def _heading(canvas: Canvas, title: str, job: str) -> None:
    canvas.text(canvas.width / 2, 20, title, 13)
    if job:
        canvas.text(canvas.width / 2, 38, job[:90], 10, colour="#555")


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)
