"""The pictures logged with every run, drawn with matplotlib's Agg backend (no display needed).

Job runs get every trial's validation curves (src/reporting/curves.py; a trial run its own
with `tracking.trial_plots`), the best model's test confusion matrix, a grid of misclassified
test images, `val_accuracy` against each searched hyperparameter, and the study's repeats
(each job's metrics per seed, with their means and intervals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from src.model import OBJECTIVE
from src.reporting.curves import learning_curves, save, trial_curves  # noqa: F401 - PICTURES

# What a tracker may be asked to draw from plain data (src/tracking/writes.py `log_picture`).
PICTURES = (
    "learning_curves",
    "trial_curves",
    "confusion_matrix",
    "misclassified",
    "hyperparameter_effects",
)
MISCLASSIFIED = 24  # test images in the misclassified picture


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Counts of true class (rows) against predicted class (columns), with the class names."""
    from matplotlib.figure import Figure

    n = len(class_names)
    counts = np.bincount(np.asarray(y_true) * n + np.asarray(y_pred), minlength=n * n)
    counts = counts.reshape(n, n)
    fig = Figure(figsize=(7.5, 6.5), dpi=80)
    fig.subplots_adjust(left=0.2, right=0.97, bottom=0.2, top=0.93)
    ax = fig.subplots()
    ax.imshow(counts, cmap="Blues")
    dark = counts > counts.max() / 2
    for (row, col), count in np.ndenumerate(counts):
        colour = "white" if dark[row, col] else "black"
        ax.text(col, row, str(count), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(n), list(class_names), rotation=45, ha="right")
    ax.set_yticks(range(n), list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = float(np.trace(counts)) / max(int(counts.sum()), 1)
    ax.set_title(f"{title}test accuracy {accuracy:.4f}")
    return save(fig, path)


def misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    path: Path,
    count: int = MISCLASSIFIED,
) -> Path:
    """A grid of test images the model got wrong, with their true and predicted class: one
    picture of tiles (24 axes with their own layout cost ten times more to draw)."""
    from matplotlib.figure import Figure

    wrong = np.flatnonzero(y_true != y_pred)[:count]
    cols = 8
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    height, width = images.shape[1:3]
    pad, above = 4, 10  # pixels between tiles, and above each for its label
    tiles = np.zeros((rows * (height + above), cols * (width + pad)), dtype=np.float32)
    fig = Figure(figsize=(cols * 1.5, rows * 1.8 + 0.4), dpi=80)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.5 / (rows * 1.8 + 0.4))
    ax = fig.subplots()
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        top, left = r * (height + above) + above, c * (width + pad) + pad // 2
        tiles[top : top + height, left : left + width] = images[i]
        label = f"{class_names[y_true[i]]}\n→ {class_names[y_pred[i]]}"
        ax.text(left + width / 2, top - 0.5, label, ha="center", va="bottom", fontsize=7,
                color="firebrick")  # fmt: skip
    ax.imshow(tiles, cmap="gray_r", aspect="auto")
    ax.axis("off")
    fig.suptitle(f"misclassified test images (true → predicted): first {len(wrong)}")
    return save(fig, path)


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
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    names = list(searched) or [OBJECTIVE]
    width = 3.6 * len(names)
    fig = Figure(figsize=(width, 3.4), dpi=80)
    # A fixed layout in inches (0.8 in left of each panel for its labels): tight_layout
    # measured every label to find about the same (0.16 s vs 0.10 s a picture).
    gaps = width - 0.95 - 0.8 * (len(names) - 1)  # inches left for the panels themselves
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.15 / width, bottom=0.16, top=0.96,
                        wspace=0.8 * len(names) / gaps)  # fmt: skip
    axes = fig.subplots(1, len(names), squeeze=False)
    hue = _colour_by(trials, names)
    levels_of_hue = sorted({str(t.get(hue)) for t in trials}) if hue else [None]
    for ax, name in zip(axes[0], names, strict=True):
        values = [t.get(name) for t in trials]
        numeric = all(isinstance(v, int | float) for v in values)
        if numeric:
            x = values
        else:
            levels = sorted({str(v) for v in values})
            x = [levels.index(str(v)) for v in values]
            ax.set_xticks(range(len(levels)), levels)
        for i, level in enumerate(levels_of_hue):
            picked = [j for j, t in enumerate(trials) if hue is None or str(t.get(hue)) == level]
            ax.scatter(
                [x[j] for j in picked],
                [trials[j][OBJECTIVE] for j in picked],
                color=f"C{i}",
                label=level,
                alpha=0.8,
            )
        if numeric and name in log_scaled:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(name)
        ax.set_ylabel(OBJECTIVE)
        ax.grid(alpha=0.3)
    if hue:
        axes[0][-1].legend(title=hue, fontsize=8)
    return save(fig, path)


def repeats(
    labels: Sequence[str],
    jobs: Sequence[Sequence],
    quantities: Mapping[str, str],
    path: Path,
    title: str = "",
) -> Path:
    """Each job's repeats, a panel per quantity (a Repeat field -> its name): a grey point per
    seed, the seed's points joined across jobs (the pairs compared), and the job's mean with
    its 95% interval."""
    from matplotlib.figure import Figure

    from src.reporting.stats import describe

    fig = Figure(figsize=(3.3 * len(quantities), 3.6), dpi=80)
    seeds = sorted({r.seed for job in jobs for r in job})
    x = range(len(jobs))
    for ax, (key, name) in zip(fig.subplots(1, len(quantities)), quantities.items(), strict=True):
        for seed in seeds:  # a diverged repeat leaves a gap
            y = [next((getattr(r, key) for r in job if r.seed == seed), np.nan) for job in jobs]
            ax.plot(x, y, "o-", color="0.55", alpha=0.6, lw=0.8, ms=3)
        for i, job in enumerate(jobs):
            e = describe([getattr(r, key) for r in job])
            err = [[e.mean - e.low], [e.high - e.mean]] if e.has_interval else None
            # Beside its seeds, so that the points stay visible.
            ax.errorbar(i + 0.15, e.mean, yerr=err, fmt="s", color="C0", capsize=5, ms=6)
        ax.set_xticks(list(x), list(labels), rotation=30 if len(jobs) > 3 else 0)
        ax.set_xlim(-0.5, len(jobs) - 0.5)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"{len(seeds)} seeds per job: mean and 95% interval")
    fig.tight_layout()
    return save(fig, path)
