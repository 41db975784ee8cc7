"""`make bench`: this project's sweep against the plain keras-tuner + MLflow script, side by side.

    python -m src.bench            # about 8 minutes on 2 cores
    python -m src.bench --long     # the default sweep's budget (10 trials x 8 epochs), ~25 minutes
    python -m src.bench --trials 2 --epochs 1 --limit 3000 --quick   # a smoke run

Every arm is a separate process on full Fashion-MNIST at batch 32, timed whole (start-up
included), its peak memory read from the kernel (`wait4`). Each tracked arm gets a fresh SQLite
store created before timing: creating a store's tables (~2 s) happens once per store, not per
sweep. Arms:

  plain      the script users write today (`src/baseline.py`): RandomSearch + autolog
  sweep      `python -m src.sweep`, same space, budget and batch size
  untracked  the same with `tracking=none`
  random/hyperband   random search vs Hyperband on the same epoch budget (fewer trial-epochs?)
  mem-2/mem-N        2- and 20-trial sweeps: is peak memory flat across trials?
  sequential/parallel  `-m loss=sparse,categorical` in sequence vs Hydra's joblib launcher
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from src.config import ROOT


@dataclass
class Result:
    arm: str
    wall: float  # seconds, whole process
    peak_mb: float
    best_val: float
    trial_epochs: int
    train_images: int
    exit_code: int = 0

    @property
    def per_trial_epoch(self) -> float:
        return self.wall / max(self.trial_epochs, 1)

    @property
    def images_per_s(self) -> float:
        return self.trial_epochs * self.train_images / self.wall


def _run(argv: list[str], cwd: Path, log: Path) -> tuple[float, float, int]:
    """Run a command; returns (wall seconds, peak RSS in MB, exit code)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def _new_store(folder: Path) -> str:
    from src.tracking import Tracker

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    Tracker(uri, "fashion_mnist")
    return uri


def plain(work: Path, trials: int, epochs: int, limit: int | None) -> Result:
    folder = work / "plain"
    folder.mkdir(parents=True)
    uri = _new_store(folder)
    argv = [
        sys.executable,
        "-m",
        "src.baseline",
        "--trials",
        str(trials),
        "--epochs",
        str(epochs),
        "--batch-size",
        "32",
        "--tracking-uri",
        uri,
        "--dir",
        str(folder / "kt"),
    ]
    if limit:
        argv += ["--limit", str(limit)]
    # Run from its own folder: autolog puts artifacts under ./mlruns of the working folder.
    wall, peak, code = _run(argv, folder, folder / "log.txt")
    lines = [line for line in (folder / "log.txt").read_text().splitlines() if line.startswith("{")]
    out = (
        json.loads(lines[-1])
        if lines
        else {"best_val_accuracy": float("nan"), "trials": 0, "train_images": 0}
    )
    return Result(
        "plain",
        wall,
        peak,
        out["best_val_accuracy"],
        out["trials"] * epochs,
        out["train_images"],
        code,
    )


def sweep(
    work: Path, arm: str, overrides: list[str], tracked: bool = True, multirun: bool = False
) -> Result:
    folder = work / arm
    folder.mkdir(parents=True)
    store = _new_store(folder) if tracked else f"sqlite:///{folder / 'mlflow.db'}"
    out_dir = folder / "out"
    argv = [
        sys.executable,
        "-m",
        "src.sweep",
        *(["-m"] if multirun else []),
        *overrides,
        f"tracking.uri={store}",
        f"hydra.run.dir={out_dir}",
        f"hydra.sweep.dir={out_dir}",
    ]
    if not tracked:
        argv.append("tracking=none")
    wall, peak, code = _run(argv, ROOT, folder / "log.txt")
    statuses = [json.loads(p.read_text()) for p in sorted(out_dir.rglob("job_status.json"))]
    results = [s["result"] for s in statuses if s["status"] == "FINISHED"]
    if not results or code != 0:
        return Result(arm, wall, peak, float("nan"), 0, 0, code or 1)
    return Result(
        arm,
        wall,
        peak,
        max(r["best_val_accuracy"] for r in results),
        sum(r["trial_epochs"] for r in results),
        results[0]["train_images"],
        code,
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the sweep against the plain script.")
    parser.add_argument(
        "--long", action="store_true", help="the default sweep's budget: 10 trials x 8 epochs"
    )
    parser.add_argument("--trials", type=int, help="trials per arm (default 5; --long 10)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 6; --long 8)")
    parser.add_argument("--limit", type=int, help="training images (default: all 60,000)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="main arms only (plain, sweep, untracked): for a smoke test",
    )
    parser.add_argument("--keep", action="store_true", help="keep the arms' stores and logs")
    args = parser.parse_args(argv)
    trials = args.trials or (10 if args.long else 5)
    epochs = args.epochs or (8 if args.long else 6)
    base = [f"tuner.max_trials={trials}", f"train.epochs={epochs}", "train.batch_size=32"]
    if args.limit:
        base.append(f"data.limit={args.limit}")
    # Secondary comparisons on a subset unless --long: they are about ratios, not absolutes.
    sub = [f"data.limit={args.limit or (60000 if args.long else 18000)}", "train.batch_size=32"]

    work = Path(tempfile.mkdtemp(prefix="bench-"))
    print(
        f"benchmark: {trials} trials x {epochs} epochs, batch 32, "
        f"{args.limit or 'all'} training images; work folder {work}",
        flush=True,
    )
    results = []

    def arm(result: Result) -> Result:
        results.append(result)
        print(
            f"  {result.arm:<11} {result.wall:6.1f} s  best val_accuracy {result.best_val:.4f}"
            f"  peak {result.peak_mb:.0f} MB",
            flush=True,
        )
        return result

    a = arm(plain(work, trials, epochs, args.limit))
    b = arm(sweep(work, "sweep", base))
    c = arm(sweep(work, "untracked", base, tracked=False))
    extra = {}
    if not args.quick:
        hb_epochs = 9  # factor 3: brackets of 1, 3 and 9 epochs
        extra["random"] = arm(
            sweep(work, "random", [*sub, "tuner.max_trials=10", f"train.epochs={hb_epochs}"])
        )
        extra["hyperband"] = arm(
            sweep(work, "hyperband", [*sub, "tuner=hyperband", f"train.epochs={hb_epochs}"])
        )
        mem = [*sub, "train.epochs=1"]
        extra["mem-2"] = arm(sweep(work, "mem-2", [*mem, "tuner.max_trials=2"]))
        extra["mem-20"] = arm(sweep(work, "mem-20", [*mem, "tuner.max_trials=20"]))
        pair = [*base[:2], "train.batch_size=32", "loss=sparse,categorical"]
        if args.limit:
            pair.append(f"data.limit={args.limit}")
        extra["sequential"] = arm(sweep(work, "sequential", pair, multirun=True))
        extra["parallel"] = arm(
            sweep(
                work,
                "parallel",
                [*pair, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "train.threads=1"],
                multirun=True,
            )
        )

    print("\n" + table(results))
    checks = [
        ("(a)/(b) plain / sweep wall time", a.wall / b.wall, ">= 5", a.wall / b.wall >= 5),
        (
            "best val_accuracy sweep - plain",
            b.best_val - a.best_val,
            ">= 0",
            b.best_val >= a.best_val,
        ),
        ("(b)/(c) tracking overhead", b.wall / c.wall, "<= 1.05", b.wall / c.wall <= 1.05),
    ]
    if extra:
        r, h = extra["random"], extra["hyperband"]
        checks += [
            (
                "hyperband / random trial-epochs",
                h.trial_epochs / r.trial_epochs,
                "< 1",
                h.trial_epochs < r.trial_epochs,
            ),
            (
                "best val_accuracy hyperband - random",
                h.best_val - r.best_val,
                ">= -0.005",
                h.best_val - r.best_val >= -0.005,
            ),
            (
                "peak memory 20 trials / 2 trials",
                extra["mem-20"].peak_mb / extra["mem-2"].peak_mb,
                "<= 1.10",
                extra["mem-20"].peak_mb / extra["mem-2"].peak_mb <= 1.10,
            ),
            (
                "parallel / sequential wall time",
                extra["parallel"].wall / extra["sequential"].wall,
                "<= 1",
                extra["parallel"].wall <= extra["sequential"].wall,
            ),
        ]
    print()
    for name, value, target, ok in checks:
        print(f"{name:<40} {value:8.3f}  target {target:<9} {'met' if ok else 'NOT met'}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.exit_code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
