"""docs/speed.md: the figures of the last `make bench` as one table, with when, on which commit
and on which machine they were measured, and which of the bench's modes produced them.

Written by tools/bench.py at the end of a run; what each figure measures and why its target is
what it is are in docs/speed-method.md. A run on a budget of its own (--trials, --epochs,
--limit: a smoke run) writes it only when given --speed-file.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEED_FILE = ROOT / "docs" / "speed.md"
# (name shown, distributions that provide it): TensorFlow is the CPU build where pinned so.
_VERSIONS = (
    ("TensorFlow", ("tensorflow", "tensorflow-cpu")),
    ("keras-tuner", ("keras-tuner",)),
    ("MLflow", ("mlflow",)),
)
# The arms' columns in the printed table (tools/bench_report.py): (label, attribute, decimals).
_ARM_FIGURES = (
    ("wall time (s)", "wall", 1),
    ("s per trial-epoch", "per_trial_epoch", 2),
    ("images per s", "images_per_s", 0),
    ("best val_accuracy", "best_val", 4),
    ("trial-epochs", "trial_epochs", 0),
    ("peak memory (MB)", "peak_mb", 0),
)


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    target: str = ""  # "" when the figure is information only
    verdict: str = ""  # "met", "NOT met" or ""
    decimals: int = 3

    def cells(self) -> list[str]:
        value = "n/a" if self.value != self.value else f"{self.value:.{self.decimals}f}"
        return [self.name, value, self.target, self.verdict]


def collect(
    results: Iterable, checks: Iterable[tuple], timings: Iterable[tuple[str, float]]
) -> list[Figure]:
    """The bench's figures as it prints them: its checks (name, value, target, met), each arm's
    columns, then the jobs' timings (name, seconds)."""
    figures = [
        Figure(
            name,
            value,
            "" if target == "(info)" else target,
            "" if target == "(info)" else ("met" if ok else "NOT met"),
        )
        for name, value, target, ok in checks
    ]
    for result in results:
        for label, attribute, decimals in _ARM_FIGURES:
            value = getattr(result, attribute)
            figures.append(Figure(f"{result.arm}: {label}", value, decimals=decimals))
        if result.exit_code:
            figures.append(Figure(f"{result.arm}: exit code", result.exit_code, "0", "NOT met", 0))
    figures += [Figure(name, seconds) for name, seconds in timings]
    return figures


def mode(args: argparse.Namespace, trials: int, epochs: int, pairs: int) -> str:
    """Which of the bench's modes ran, and on what budget."""
    plural = "s" if pairs != 1 else ""
    parts = [f"the tracked and untracked sweeps ({pairs} pair{plural})"] if args.overhead else []
    parts += [
        text
        for flag, text in (
            ("hyperband", "random vs Hyperband and the per-trial cost"),
            ("search", "the CNN's precisions and pruning"),
            ("outage", "the tracking-server outage"),
        )
        if getattr(args, flag)
    ]
    if parts:
        ran = "only " + "; ".join(parts) + " (partial: the other figures were not measured)"
    elif args.quick:
        ran = f"`--quick`: the main arms only (plain, sweep, untracked; {pairs} pair{plural})"
    else:
        ran = "the full bench" + (" on the default sweep's budget (`--long`)" if args.long else "")
    if parts and not args.overhead:
        return ran  # the arms that ran have budgets of their own
    images = f"{args.limit:,}" if args.limit else "all 60,000"
    return f"{ran}; {trials} trials x {epochs} epochs per loss, {images} training images"


def target_path(args: argparse.Namespace) -> Path | None:
    """Where this run writes its table: --speed-file, else docs/speed.md unless the budget is
    the run's own (a smoke run's figures are no measurement)."""
    if args.speed_file:
        return Path(args.speed_file)
    return None if (args.trials or args.epochs or args.limit) else SPEED_FILE


def commit(root: Path = ROOT) -> str:
    """`git rev-parse --short HEAD`, "+dirty" when tracked files differ from it (this table's own
    file aside: the last run's table, not yet committed, is not a change to what is measured)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        exclude = f":(exclude){SPEED_FILE.relative_to(ROOT)}"
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", exclude)
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if changed else "")


def _proc_field(file: str, key: str) -> str | None:
    try:
        lines = Path(file).read_text().splitlines()
    except OSError:
        return None
    found = (line.split(":", 1)[1].strip() for line in lines if line.split(":")[0].strip() == key)
    return next(found, None)


def machine() -> str:
    """CPU model, cores, RAM, OS; Python's and the measured libraries' versions."""
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown CPU"
    kilobytes = _proc_field("/proc/meminfo", "MemTotal")
    ram = f"{int(kilobytes.split()[0]) / 2**20:.1f} GiB RAM" if kilobytes else "RAM unknown"
    try:
        system = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        system = platform.system()
    parts = [
        f"{cpu}, {os.cpu_count()} cores, {ram}, {system}, {platform.system()} {platform.release()}"
    ]
    parts.append(f"Python {platform.python_version()}")
    for name, distributions in _VERSIONS:
        parts.append(f"{name} {_version(distributions)}")
    return parts[0] + "; " + ", ".join(parts[1:])


def _version(distributions: Sequence[str]) -> str:
    for distribution in distributions:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def render(
    figures: Sequence[Figure],
    ran: str,
    command: str,
    started: datetime,
    ended: datetime,
    revision: str,
    host: str,
) -> str:
    when = (
        f"{started:%Y-%m-%d %H:%M} to {ended:%H:%M}"
        if started.date() == ended.date()
        else (f"{started:%Y-%m-%d %H:%M} to {ended:%Y-%m-%d %H:%M}")
    )
    lines = [
        "# Speed: the last `make bench`",
        "",
        "Written by `make bench` (`tools/speed_table.py`) at the end of a run: do not edit it by",
        "hand, run `make bench` again. What each figure measures and why its target is what it is:",
        "[speed-method.md](speed-method.md).",
        "",
        f"- **Date (UTC):** {when}",
        f"- **Commit:** {revision}",
        f"- **Machine:** {host}",
        f"- **Command:** `{command}`",
        f"- **Mode:** {ran}",
        "",
        "| figure | value | target | verdict |",
        "| --- | ---: | --- | --- |",
    ]
    for figure in figures:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in figure.cells()) + " |")
    return "\n".join(lines) + "\n"


def write(
    path: Path,
    figures: Sequence[Figure],
    ran: str,
    argv: Sequence[str],
    started: datetime,
    ended: datetime,
    revision: str | None = None,
) -> Path:
    """Write the table to `path`, atomically. `started` and `ended` are UTC; `revision` is the
    commit read at the run's start (the code measured), else read now."""
    command = shlex.join(["python", "-m", "tools.bench", *_measuring(argv)])
    text = render(figures, ran, command, started, ended, revision or commit(), machine())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path


def _measuring(argv: Sequence[str]) -> list[str]:
    """The command line without --speed-file (where the table goes, not what was measured; a
    path of this machine)."""
    kept, skip = [], False
    for word in argv:
        if not skip and not word.startswith("--speed-file"):
            kept.append(word)
        skip = word == "--speed-file"
    return kept


def publish(
    args: argparse.Namespace,
    argv: Sequence[str],
    figures: Sequence[Figure],
    ran: str,
    started: datetime,
    revision: str,
) -> None:
    """Write the run's table where `target_path` says, and say where, or why not. `started` is
    the run's start (UTC), `revision` the commit read then."""
    path = target_path(args)
    if path is None:
        print(
            "\nfigures not written to docs/speed.md: --trials, --epochs or --limit set the budget"
        )
        return
    written = write(path, figures, ran, argv, started, datetime.now(UTC), revision).resolve()
    shown = written.relative_to(ROOT) if written.is_relative_to(ROOT) else written
    print(f"\nfigures written to {shown}")
