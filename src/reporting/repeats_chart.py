"""The study's repeats drawn with matplotlib: each job's metrics per seed, with their means and
95% intervals (src/reporting/study.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from src.pictures.curves import save
from src.reporting.stats import describe

# Imported inside functions: matplotlib loads only where a study draws its repeats.


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
    from matplotlib.figure import Figure  # matplotlib: imported when a study draws

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
