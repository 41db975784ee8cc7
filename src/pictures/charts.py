"""The pictures a job's run gets, written as SVG (src/pictures/svg.py) by the tracking process:
every trial's validation curves, the best model's test confusion matrix, a grid of misclassified
test images, and `val_accuracy` against each searched hyperparameter."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from src.model import OBJECTIVE
from src.pictures.svg import COLOURS, Axes, Canvas

# Imported inside functions: Pillow loads only to draw the misclassified images' tiles.

MISCLASSIFIED = 24  # test images in the misclassified picture


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def trial_curves(
    trials: Mapping[str, Mapping[str, Sequence[float]]], best: str, path: Path, title: str = ""
) -> Path:
    """`val_loss` and `val_accuracy` per epoch of each trial (`{trial_id: {"epochs": [...],
    "val_loss": [...], "val_accuracy": [...]}}`): the others grey, the `best` one in colour,
    named; a pruned trial's line ends where it stopped."""
    canvas = Canvas(760, 300)
    canvas.text(380, 20, title or f"{len(trials)} trials: validation per epoch", 13)
    epochs = [e + 1 for t in trials.values() for e in t["epochs"]] or [1]
    for i, metric in enumerate(("val_loss", "val_accuracy")):
        values = _finite(v for t in trials.values() for v in t[metric]) or [0.0]
        ax = Axes(
            canvas,
            (70 + i * 375, 50, 300, 200),
            (min(epochs), max(epochs)),
            (min(values), max(values)),
        )
        ax.titles(metric, "epoch")
        for trial_id, curve in sorted(trials.items(), key=lambda kv: kv[0] == best):
            points = [
                (ax.px(e + 1), ax.py(v))
                for e, v in zip(curve["epochs"], curve[metric], strict=True)
            ]
            if trial_id == best:
                canvas.polyline(points, COLOURS[1], 2.2, dots=3)
            else:
                canvas.polyline(points, "#999", 1.0, 0.8)
        if best in trials:
            canvas.line(ax.x + ax.w - 118, ax.y + 14, ax.x + ax.w - 98, ax.y + 14, COLOURS[1], 2.2)
            canvas.text(ax.x + ax.w - 94, ax.y + 18, f"trial {best} (best)", 10, "start")
    return canvas.save(path)


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Counts of true class (rows) against predicted class (columns), with the class names."""
    n = len(class_names)
    counts = np.bincount(np.asarray(y_true) * n + np.asarray(y_pred), minlength=n * n)
    counts = counts.reshape(n, n)
    cell, left, top = 40, 110, 40
    canvas = Canvas(left + n * cell + 20, top + n * cell + 110)
    accuracy = float(np.trace(counts)) / max(int(counts.sum()), 1)
    canvas.text(left + n * cell / 2, 24, f"{title}test accuracy {accuracy:.4f}", 13)
    most = max(int(counts.max()), 1)
    for (row, col), count in np.ndenumerate(counts):
        shade = count / most  # matplotlib's "Blues", from its lightest to its darkest
        rgb = [
            round(a + (b - a) * shade) for a, b in zip((247, 251, 255), (8, 48, 107), strict=True)
        ]
        x, y = left + col * cell, top + row * cell
        canvas.rect(x, y, cell, cell, "#{:02x}{:02x}{:02x}".format(*rgb))
        ink = "white" if shade > 0.5 else "black"
        canvas.text(x + cell / 2, y + cell / 2 + 4, count, 9, colour=ink)
    for i, name in enumerate(class_names):
        canvas.text(left - 6, top + i * cell + cell / 2 + 4, name, 10, "end")
        x = left + i * cell + cell / 2
        canvas.text(x, top + n * cell + 10, name, 10, "end", rotate=-45)
    canvas.text(left + n * cell / 2, top + n * cell + 100, "predicted", 11)
    canvas.text(16, top + n * cell / 2, "true", 11, rotate=-90)
    return canvas.save(path)


def misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    count: int = MISCLASSIFIED,
) -> Path:
    """A grid of test images the model got wrong, each under its true and predicted class: the
    images as small PNGs inside the SVG, the labels as text."""
    from PIL import Image

    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:count]
    cols, scale, above = 8, 3, 30
    height, width = images.shape[1:3]
    tile_w, tile_h = width * scale + 10, height * scale + above + 6
    rows = max(1, math.ceil(len(wrong) / cols))
    canvas = Canvas(cols * tile_w + 10, rows * tile_h + 40)
    heading = f"misclassified test images (true → predicted): first {len(wrong)}"
    canvas.text(canvas.width / 2, 22, heading, 13)
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        x, y = 10 + c * tile_w, 40 + r * tile_h
        middle = x + width * scale / 2
        canvas.text(middle, y + 11, class_names[y_true[i]], 9, colour="firebrick")
        canvas.text(middle, y + 23, f"→ {class_names[y_pred[i]]}", 9, colour="firebrick")
        image = np.asarray(images[i])
        if image.dtype != np.uint8:  # scaled to [0, 1]
            image = np.clip(image * (255 if image.max() <= 1 else 1), 0, 255).astype(np.uint8)
        png = io.BytesIO()
        Image.fromarray(255 - image.reshape(height, width)).save(png, format="PNG")
        canvas.image(x, y + above, width * scale, height * scale, png.getvalue())
    return canvas.save(path)


def _colour_by(trials: Sequence[Mapping], names: Sequence[str]) -> str | None:
    """The searched hyperparameter of words (an optimizer, say) with the fewest levels: its
    levels colour the points of every panel."""
    worded = [n for n in names if any(isinstance(t.get(n), str) for t in trials)]
    return min(worded, key=lambda n: len({str(t.get(n)) for t in trials}), default=None)


def hyperparameter_effects(
    trials: Sequence[Mapping],
    searched: Sequence[str],
    path: Path,
    log_scaled: set[str] = frozenset(),
) -> Path:
    """`val_accuracy` against each searched hyperparameter: those sampled on a log scale on a
    log axis, choices of words as categories, coloured by the worded one with fewest levels."""
    names = list(searched) or [OBJECTIVE]
    hue = _colour_by(trials, names)
    canvas = Canvas(290 * len(names) + (110 if hue else 20), 290)
    levels_of_hue = sorted({str(t.get(hue)) for t in trials}) if hue else [None]
    scores = _finite(t[OBJECTIVE] for t in trials) or [0.0]
    for k, name in enumerate(names):
        values = [t.get(name) for t in trials]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        log = numeric and name in log_scaled and all(v > 0 for v in values)
        levels = [] if numeric else sorted({str(v) for v in values})
        xs = values if numeric else [levels.index(str(v)) for v in values]
        box = (75 + k * 290, 20, 200, 210)
        xlim = (min(xs), max(xs)) if xs else (0, 1)
        ax = Axes(canvas, box, xlim, (min(scores), max(scores)), log=log, categories=levels)
        ax.titles("", name, OBJECTIVE)
        for j, t in enumerate(trials):
            colour = COLOURS[levels_of_hue.index(str(t.get(hue))) % 10] if hue else COLOURS[0]
            if t[OBJECTIVE] is not None and math.isfinite(t[OBJECTIVE]):
                canvas.circle(ax.px(xs[j]), ax.py(t[OBJECTIVE]), 4.5, colour, 0.8)
    if hue:
        right = canvas.width - 20
        canvas.text(right, 36, hue, 10, "end", bold=True)
        for i, level in enumerate(levels_of_hue):
            canvas.circle(right - 6, 48 + 14 * i, 4.5, COLOURS[i % 10], 0.8)
            canvas.text(right - 14, 52 + 14 * i, level, 10, "end")
    return canvas.save(path)
