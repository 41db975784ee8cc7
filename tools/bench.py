"""`make bench`: this project's sweep against the plain keras-tuner + MLflow script, side by side.

    python -m tools.bench            # about 25 to 40 minutes on 2 cores
    python -m tools.bench --long     # the default sweep's budget (10 trials x 8 epochs)
    python -m tools.bench --trials 2 --epochs 1 --limit 3000 --quick   # a smoke run

Every arm is a separate process on full Fashion-MNIST at batch 32, timed whole (start-up
included), its peak memory read from the kernel (`wait4`). Each tracked arm gets a fresh SQLite
store created before timing: creating a store's tables (~2 s) happens once per store, not once
per sweep. The main arms compare the headline, sparse vs categorical cross-entropy:

  plain       the script users write today (tools/baseline.py): RandomSearch + autolog, one
              loss after the other
  sweep       python -m src.sweep -m loss=sparse,categorical (same space, budget, batch size)
  untracked   the same with tracking=none
              (sweep and untracked alternately, five times each: the ratios use the medians;
              single runs on this machine spread by more than the 5% the overhead is held to;
              the tracking process's CPU seconds, read from /proc meanwhile, are steadier)
  sequential  the same with hydra/launcher=basic: the two jobs one after the other
  one-job     python -m src.sweep loss=sparse: a single job
  random, hyperband   the same epoch budget per trial (9) on all training images: does
              Hyperband need fewer epochs, and less wall time?
  mem-2, mem-20       2- and 20-trial sweeps of 1-epoch trials: is peak memory flat across
              trials, and what does a trial cost beside its epoch?

  plain-3x3, job-3x3  a single job of 3 trials x 3 epochs against the plain script, one loss
              (the job three times: the ratio uses the median)
  server, outage      10 trials x 6 epochs against a local `mlflow server`, the second with
              the server stopped 20 s in and started again 30 s later: the difference is what
              the outage cost the search
  cnn-f32, cnn-bf16, prune-none, prune-asha   the CNN's precisions, pruning (bench_search.py)

After the table: where a job's start-up time goes (job-3x3) and what a trial costs beside its
epochs (mem-20), from the jobs' timings.json. Then every figure printed goes to docs/speed.md, one
table with the date, commit and machine (tools/speed_table.py); a run on a budget of its own
(--trials, --epochs, --limit) writes it only where --speed-file says.

    python -m tools.bench --hyperband   # only random, hyperband, mem-2 and mem-20 (~5 minutes)
    python -m tools.bench --search      # only the CNN's precisions and pruning (~5 minutes)
    python -m tools.bench --outage      # only the outage (~4 minutes)
    python -m tools.bench --overhead    # only tracked vs untracked, 3 pairs (~4 minutes)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tools import speed_table
from tools.bench_args import arguments
from tools.bench_arms import Result, plain
from tools.bench_checks import (
    LOSSES,
    main_checks,
    outage_checks,
    search_checks,
    secondary_checks,
    tracked_pairs,
)
from tools.bench_report import breakdowns, table
from tools.bench_search import search_arms


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    trials = args.trials or (10 if args.long else 4)
    epochs = args.epochs or (8 if args.long else 5)
    base = [f"tuner.max_trials={trials}", f"train.epochs={epochs}", "search.batch_size=32"]
    if args.limit:
        base.append(f"data.limit={args.limit}")
    # The memory arms run on a subset unless --long: they compare ratios, not absolutes.
    sub = [f"data.limit={args.limit or (60000 if args.long else 18000)}", "search.batch_size=32"]
    started, revision = datetime.now(UTC), speed_table.commit()  # the code measured
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    print(
        f"benchmark: sparse and categorical, {trials} trials x {epochs} epochs each, batch 32, "
        f"{args.limit or 'all'} training images, {os.cpu_count()} cores; work folder {work}",
        flush=True,
    )
    results: list[Result] = []

    def arm(result: Result) -> Result:
        results.append(result)
        print(
            f"  {result.arm:<11} {result.wall:6.1f} s  best val_accuracy {result.best_val:.4f}"
            f"  peak {result.peak_mb:.0f} MB",
            flush=True,
        )
        return result

    full = [f"data.limit={args.limit}"] if args.limit else []
    full.append("search.batch_size=32")
    checks = []
    only = args.hyperband or args.outage or args.search
    pairs = args.pairs or (3 if args.overhead else 1 if args.quick else 5)
    if args.overhead:
        b, c, paired, cpu = tracked_pairs(arm, work, [*base, LOSSES], pairs)
        checks += main_checks(None, b, c, paired, cpu, args.limit)
    elif not only:
        a = arm(plain(work, trials, epochs, args.limit))
        b, c, paired, cpu = tracked_pairs(arm, work, [*base, LOSSES], pairs)
        checks += main_checks(a, b, c, paired, cpu, args.limit)
        if not args.quick:
            checks += secondary_checks(arm, work, base, a, b)
    only = only or args.overhead
    if not args.quick and (not only or args.hyperband):
        checks += search_checks(arm, work, full, sub)
    if not args.quick and (not only or args.outage):
        checks += outage_checks(arm, work)
    if not args.quick and (not only or args.search):
        checks += search_arms(arm, work)
    run = (trials, epochs, pairs, started, revision)
    _report(args, argv, results, checks, work, run)
    return 0 if all(r.exit_code == 0 for r in results) else 1


def _report(args, argv, results: list[Result], checks: list[tuple], work: Path, run) -> None:
    """Print the table, the checks and the jobs' timings; write them to docs/speed.md (or
    --speed-file) unless the budget was the run's own. `run`: (trials, epochs, pairs, the
    run's start in UTC, the commit then)."""
    trials, epochs, pairs, started, revision = run
    print("\n" + table(results) + "\n")
    for name, value, target, ok in checks:
        verdict = "" if target == "(info)" else ("met" if ok else "NOT met")
        print(f"{name:<40} {value:8.3f}  target {target:<9} {verdict}")
    timings = breakdowns(work)
    if args.keep:
        print(f"\nstores and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    figures = speed_table.collect(results, checks, timings)
    argv = sys.argv[1:] if argv is None else argv
    ran = speed_table.mode(args, trials, epochs, pairs)
    speed_table.publish(args, argv, figures, ran, started, revision)


if __name__ == "__main__":
    sys.exit(main())
