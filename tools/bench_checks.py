"""The bench's arms run in pairs or sets and turned into checks: (figure, value, target, met)."""

from __future__ import annotations

import math
import os
import statistics
from pathlib import Path

from tools.bench_arms import Result, plain, sweep
from tools.bench_outage import outage_arms

LOSSES = "loss=sparse,categorical"


def tracked_pairs(
    arm, work: Path, overrides: list[str], pairs: int
) -> tuple[Result, Result, float, float]:
    """The sweep tracked and untracked, alternately, `pairs` times each: this machine's speed
    drifts by more than the 5% the overhead is held to within minutes. Their medians, the
    median of each pair's ratio (a tracked sweep against the untracked one right after it) and
    the median CPU seconds of the tracked sweeps' tracking process."""
    tracked, untracked = [], []
    for i in range(pairs):
        tracked.append(arm(sweep(work, f"sweep{_nth(i)}", overrides)))
        untracked.append(arm(sweep(work, f"untracked{_nth(i)}", overrides, tracked=False)))
    ratios = [t.wall / u.wall for t, u in zip(tracked, untracked, strict=True)]
    cpu = statistics.median(t.tracking_cpu for t in tracked)
    return _median(tracked), _median(untracked), statistics.median(ratios), cpu


def _nth(i: int) -> str:
    return f"-{i + 1}" if i else ""


def _median(results: list[Result]) -> Result:
    return sorted(results, key=lambda r: r.wall)[len(results) // 2]


def main_checks(
    a: Result | None, b: Result, c: Result, paired: float, cpu: float, limit: int | None
) -> list[tuple]:
    share = cpu / (os.cpu_count() or 1) / c.wall
    overhead = [
        ("(b)/(c) tracking overhead (medians)", b.wall / c.wall, "(info)", True),
        ("(b)/(c) median of the pairs' ratios", paired, "(info)", True),
        ("(b) tracking process CPU s (median)", cpu, "(info)", True),
        # The target: steadier than the ratios, whose run-to-run spread on two busy cores is
        # larger than 5%. On cores the jobs keep busy, about cpu / cores of wall time.
        ("(b) that CPU / cores / (c) wall time", share, "<= 0.05", share <= 0.05),
    ]
    if a is None:  # --overhead: the tracked and untracked sweeps only
        return overhead
    # "Equal" accuracy: within one standard error of a validation accuracy measured on the
    # validation images (10% of the training images); 4 images in 6,000 are noise, not a result.
    n_val = round((limit or 60000) * 0.1)
    se = math.sqrt(a.best_val * (1 - a.best_val) / n_val) if a.best_val == a.best_val else 0
    print(f"standard error of a validation accuracy here: {se:.4f} ({n_val} images)")
    return [
        ("(a)/(b) plain / median sweep wall time", a.wall / b.wall, ">= 6", a.wall / b.wall >= 6),
        (
            "best val_accuracy sweep - plain",
            b.best_val - a.best_val,
            f">= -{se:.4f}",
            b.best_val - a.best_val >= -se,
        ),
        *overhead,
    ]


def search_checks(arm, work: Path, full: list[str], sub: list[str]) -> list[tuple]:
    """Random search vs Hyperband on the same epochs per trial, and what a trial costs."""
    rnd = arm(sweep(work, "random", [*full, "tuner.max_trials=10", "train.epochs=9"]))
    hb = arm(sweep(work, "hyperband", [*full, "tuner=hyperband", "train.epochs=9"]))
    m2 = arm(sweep(work, "mem-2", [*sub, "train.epochs=1", "tuner.max_trials=2"]))
    m20 = arm(sweep(work, "mem-20", [*sub, "train.epochs=1", "tuner.max_trials=20"]))
    return [
        (
            "hyperband / random trial-epochs",
            hb.trial_epochs / rnd.trial_epochs,
            "< 1",
            hb.trial_epochs < rnd.trial_epochs,
        ),
        ("hyperband / random wall time", hb.wall / rnd.wall, "< 1", hb.wall < rnd.wall),
        (
            "best val_accuracy hyperband - random",
            hb.best_val - rnd.best_val,
            ">= -0.005",
            hb.best_val - rnd.best_val >= -0.005,
        ),
        # A 1-epoch trial's wall time: its epoch plus building, tracing, recording it.
        ("s per 1-epoch trial (mem-20 - mem-2) / 18", (m20.wall - m2.wall) / 18, "(info)", True),
        (
            "peak memory 20 trials / 2 trials",
            m20.peak_mb / m2.peak_mb,
            "<= 1.10",
            m20.peak_mb / m2.peak_mb <= 1.10,
        ),
    ]


def secondary_checks(arm, work: Path, base: list[str], a: Result, b: Result) -> list[tuple]:
    seq = arm(sweep(work, "sequential", [*base, LOSSES, "hydra/launcher=basic"]))
    one = arm(sweep(work, "one-job", [*base, "loss=sparse"]))
    # A single job of 3 trials x 3 epochs against the plain script's one loss, whole processes.
    small = ["tuner.max_trials=3", "train.epochs=3", "search.batch_size=32", "loss=sparse"]
    p3 = arm(plain(work, 3, 3, None, arm="plain-3x3", losses="sparse"))
    j3 = _median([arm(sweep(work, f"job-3x3{_nth(i)}", small)) for i in range(3)])
    return [
        ("parallel / sequential jobs wall time", b.wall / seq.wall, "<= 1", b.wall <= seq.wall),
        ("(a)/one-job: half of plain / one job", a.wall / 2 / one.wall, "(info)", True),
        (
            "plain-3x3 / median job-3x3 (processes)",
            p3.wall / j3.wall,
            ">= 4",
            p3.wall >= 4 * j3.wall,
        ),
    ]


def outage_checks(arm, work: Path) -> list[tuple]:
    """A tracking server stopped 20 s into a sweep of 10 trials x 6 epochs and started again
    30 s later: what it cost the search, in wall time (the trials go on meanwhile)."""
    overrides = ["loss=sparse", "tuner.max_trials=10", "train.epochs=6", "search.batch_size=32"]
    steady, down = outage_arms(work, overrides)
    arm(steady), arm(down)
    return [
        (
            "outage - steady wall time (s)",
            down.wall - steady.wall,
            "<= 12",
            down.wall - steady.wall <= 12 and down.exit_code == 0,
        )
    ]
