"""The benchmark's arms: each a separate process, timed whole, its peak memory read from the
kernel; a fresh store per tracked arm, created before timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.config import ROOT
from tools.bench_cpu import TRACKING, TreeCPU


@dataclass
class Result:
    arm: str
    wall: float  # seconds, whole process
    peak_mb: float  # the largest process's peak resident memory
    best_val: float
    trial_epochs: int
    train_images: int
    exit_code: int = 0
    tracking_cpu: float = 0.0  # CPU seconds of the command's tracking process, if any

    @property
    def per_trial_epoch(self) -> float:
        return self.wall / max(self.trial_epochs, 1)

    @property
    def images_per_s(self) -> float:
        return self.trial_epochs * self.train_images / self.wall


def _run(
    argv: list[str], cwd: Path, log: Path, during: Callable[[], None] | None = None
) -> tuple[float, float, int, float]:
    """Run a command (and `during()` in a thread meanwhile); returns (wall seconds, peak RSS
    in MB, exit code, CPU seconds of its tracking process: src/tracking/service.py).

    `wait4` reports the largest resident size of the process and of the descendants it reaped,
    so a joblib multirun's worker processes are covered.
    """
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        cpu = TreeCPU(proc.pid, {"tracking": TRACKING}).start()
        helper = threading.Thread(target=during, daemon=True) if during else None
        if helper is not None:
            helper.start()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    tracking = cpu.stop().get("tracking", 0.0)
    if helper is not None:
        helper.join()
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), tracking


def _new_store(folder: Path) -> str:
    from src.tracking import Tracker

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    Tracker(uri, "fashion_mnist")
    return uri


def plain(
    work: Path,
    trials: int,
    epochs: int,
    limit: int | None,
    arm: str = "plain",
    losses: str = "sparse,categorical",
) -> Result:
    folder = work / arm
    folder.mkdir(parents=True)
    uri = _new_store(folder)
    argv = [
        sys.executable,
        "-m",
        "tools.baseline",
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
        "--losses",
        losses,
    ]
    if limit:
        argv += ["--limit", str(limit)]
    # From its own folder: autolog puts artifacts under the working folder's ./mlruns.
    wall, peak, code, _ = _run(argv, folder, folder / "log.txt")
    lines = [line for line in (folder / "log.txt").read_text().splitlines() if line.startswith("{")]
    if not lines or code != 0:
        return Result(arm, wall, peak, float("nan"), 0, 0, code or 1)
    out = json.loads(lines[-1])
    return Result(
        arm,
        wall,
        peak,
        out["best_val_accuracy"],
        out["trials"] * epochs,
        out["train_images"],
        code,
    )


def sweep(
    work: Path,
    arm: str,
    overrides: list[str],
    tracked: bool = True,
    store: str | None = None,
    during: Callable[[], None] | None = None,
) -> Result:
    """A `python -m src.sweep` arm: its own new store unless `store` is given (a server)."""
    folder = work / arm
    folder.mkdir(parents=True)
    if store is None:
        store = _new_store(folder) if tracked else f"sqlite:///{folder / 'mlflow.db'}"
    out_dir = folder / "out"
    multirun = any("," in o for o in overrides)
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
    wall, peak, code, tracking = _run(argv, ROOT, folder / "log.txt", during)
    statuses = [json.loads(p.read_text()) for p in sorted(out_dir.rglob("job_status.json"))]
    results = [s["result"] for s in statuses if s["status"] == "FINISHED"]
    if not results or code != 0:
        return Result(arm, wall, peak, float("nan"), 0, 0, code or 1, tracking)
    return Result(
        arm,
        wall,
        peak,
        max(r["best_val_accuracy"] for r in results),
        sum(r["trial_epochs"] for r in results),
        results[0]["train_images"],
        code,
        tracking,
    )
