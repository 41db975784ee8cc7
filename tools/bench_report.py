"""What `make bench` prints besides its progress: the table of arms, and from the jobs'
`timings.json` where a job's start-up went and what a trial costs beside its epochs."""

from __future__ import annotations

import json
from pathlib import Path

from src.runtime.timings import FILE
from tools.bench_arms import Result


def table(results: list[Result]) -> str:
    head = (
        f"{'arm':<11} {'wall s':>7} {'s/trial-epoch':>13} {'images/s':>9} "
        f"{'best val_acc':>12} {'trial-epochs':>12} {'peak MB':>8}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        flag = "" if r.exit_code == 0 else f"  (exit {r.exit_code})"
        rows.append(
            f"{r.arm:<11} {r.wall:7.1f} {r.per_trial_epoch:13.2f} {r.images_per_s:9.0f} "
            f"{r.best_val:12.4f} {r.trial_epochs:12d} {r.peak_mb:8.0f}{flag}"
        )
    return "\n".join(rows)


def per_trial(folder: Path, cost: str) -> list[float]:
    """A per-trial cost's total in each job's timings.json under `folder`."""
    found = [json.loads(p.read_text())["per_trial"] for p in folder.rglob(FILE)]
    return [costs[cost]["total"] for costs in found if cost in costs]


def breakdowns(work: Path) -> list[tuple[str, float]]:
    """Where a job's time went (timings.json of the job-3x3 and mem-20 arms): printed, and
    returned as (figure name, seconds) for docs/speed.md."""
    figures = []
    for arm, key, title in (
        ("job-3x3", "phases", "start-up of a job (s since the process started)"),
        ("mem-20", "per_trial", "per-trial costs beside the epochs (mean s over the trials)"),
    ):
        found = sorted((work / arm).rglob(FILE))
        if not found:
            continue
        print(f"\n{arm}: {title}")
        for name, value in json.loads(found[0].read_text())[key].items():
            figure = value if key == "phases" else value["mean"]
            print(f"  {name:<22} {figure:8.3f}")
            label = f"s since start: {name}" if key == "phases" else f"mean s per trial: {name}"
            figures.append((f"{arm} {label}", figure))
    return figures
