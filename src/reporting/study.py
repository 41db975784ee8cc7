"""The study's part of a sweep's closing summary, when its jobs have repeats (study.repeats):
per job the repeats' mean, standard deviation and 95% interval; the paired differences between
jobs; the verdict's sentences last. With it go `repeats.svg` (each job's metrics per seed) and
`sweep_repeats.csv` (one row per job and seed), logged on every job run with the summary.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from src.reporting import repeats_chart, stats, verdict
from src.reporting.verdict import QUANTITIES, Study

if TYPE_CHECKING:
    from src.reporting.outcome import JobResult

# Imported inside functions: pandas loads only for a study's CSV.


def _estimate_cell(values: list[float], fmt: str) -> str:
    e = stats.describe(values)
    if not e.has_interval:
        return f"{e.mean:{fmt}}"
    return f"{e.mean:{fmt}} ± {e.sd:{fmt}} [{e.low:{fmt}}, {e.high:{fmt}}]"


def _difference_cell(diff: stats.Difference | None, fmt: str) -> str:
    if diff is None:
        return "no common seed"
    e = diff.estimate
    if diff.identical:
        return "identical in every seed"
    if not e.has_interval:
        return f"{e.mean:+{fmt}}"
    return f"{e.mean:+{fmt}} [{e.low:+{fmt}}, {e.high:+{fmt}}], p = {diff.p:.2g}"


def _seed_range(study: Study) -> str:
    seeds = sorted({r.seed for job in study.jobs for r in job.repeats})
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seed" + ("s " if len(seeds) > 1 else " ") + ", ".join(map(str, seeds))


def _tables(study: Study) -> list[str]:
    names = [name for name, _ in QUANTITIES.values()]
    lines = [
        "| | seeds | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for job, label in zip(study.jobs, study.labels, strict=True):
        cells = [
            _estimate_cell([getattr(r, q) for r in job.repeats], fmt)
            for q, (_, fmt) in QUANTITIES.items()
        ]
        lines.append(f"| {label} | {len(job.repeats)} | " + " | ".join(cells) + " |")
    if len(study.jobs) < 2:
        return lines
    lines += [
        "",
        "| paired difference | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    first, first_label = study.jobs[0], study.labels[0]
    for job, label in zip(study.jobs[1:], study.labels[1:], strict=True):
        cells = [
            _difference_cell(verdict.difference(job, first, q), fmt)
            for q, (_, fmt) in QUANTITIES.items()
        ]
        lines.append(f"| {label} − {first_label} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: list[JobResult]) -> str:
    """The study's section of the summary: empty when no job has repeats."""
    study = verdict.study_of(results)
    if study is None:
        return ""
    lines = [
        "## Verdict",
        "",
        f"Each job's best configuration retrained with {_seed_range(study)} "
        "(study.repeats): mean ± standard deviation [95% interval] over the seeds; "
        "differences paired by seed, with their 95% interval and a paired t-test. "
        "Peak memory: the process's resident memory while the repeat trained.",
        "",
        *_tables(study),
        "",
        *verdict.sentences(study),
    ]
    return "\n".join(lines) + "\n"


def verdict_text(results: list[JobResult]) -> str | None:
    """The verdict's sentences as one text (a tag on every job run), or None."""
    study = verdict.study_of(results)
    return None if study is None else " ".join(verdict.sentences(study))


def files(results: list[JobResult], folder: Path) -> list[Path]:
    """`repeats.svg` and `sweep_repeats.csv` in `folder` (none when no job has repeats)."""
    import pandas as pd

    study = verdict.study_of(results)
    if study is None:
        return []
    names = {q: name for q, (name, _) in QUANTITIES.items()}
    picture = repeats_chart.repeats(
        study.labels, [job.repeats for job in study.jobs], names, folder / "repeats.svg"
    )
    rows = [
        {"job": job.job, "label": label, **asdict(r)}
        for job, label in zip(study.jobs, study.labels, strict=True)
        for r in job.repeats
    ]
    table = folder / "sweep_repeats.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return [picture, table]
