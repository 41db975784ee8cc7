"""The pictures logged with runs, all SVG: what a tracker may be asked to draw (`PICTURES`).

A job's run gets every trial's validation curves, the best model's test confusion matrix, a
grid of misclassified test images and `val_accuracy` against each searched hyperparameter,
written directly (src/reporting/charts.py); a trial's own learning curves
(`tracking.trial_plots`, src/reporting/curves.py) and the study's repeats (each job's metrics
per seed, with their means and intervals, drawn here) are drawn with matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from src.reporting.charts import (  # noqa: F401 - PICTURES
    MISCLASSIFIED,
    confusion_matrix,
    hyperparameter_effects,
    misclassified,
    trial_curves,
)
from src.reporting.curves import learning_curves, save  # noqa: F401 - PICTURES
from src.reporting.tradeoff_charts import importance, pareto  # noqa: F401 - PICTURES

# What a tracker may be asked to draw from plain data (src/tracking/writes.py `log_picture`).
PICTURES = (
    "learning_curves",
    "trial_curves",
    "confusion_matrix",
    "misclassified",
    "hyperparameter_effects",
    "importance",
    "pareto",
)


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
