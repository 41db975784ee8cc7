"""The bench's command line (tools/bench.py)."""

from __future__ import annotations

import argparse


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the sweep against the plain script.")
    parser.add_argument(
        "--long",
        action="store_true",
        help="the default sweep's budget: 10 trials x 8 epochs per loss",
    )
    parser.add_argument("--trials", type=int, help="trials per loss (default 4; --long 10)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 5; --long 8)")
    parser.add_argument("--limit", type=int, help="training images (default: all 60,000)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="main arms only (plain, sweep, untracked): a smoke test",
    )
    parser.add_argument(
        "--hyperband",
        action="store_true",
        help="only random vs Hyperband and the per-trial cost (mem-2, mem-20)",
    )
    parser.add_argument(
        "--outage", action="store_true", help="only the 60 s tracking-server outage (~4 minutes)"
    )
    parser.add_argument("--search", action="store_true", help="only the CNN and pruning arms")
    parser.add_argument(
        "--overhead",
        action="store_true",
        help="only the tracked and untracked sweeps (--pairs of them, default 3): the tracking "
        "process's CPU against the target",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        help="tracked and untracked sweeps, run alternately this many times each; the ratios "
        "use their medians (default 5; --quick 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the arms' stores and logs")
    parser.add_argument(
        "--speed-file",
        help="where to write the run's table of figures (default docs/speed.md; not written "
        "when --trials, --epochs or --limit set a budget of the run's own, unless given)",
    )
    return parser.parse_args(argv)
