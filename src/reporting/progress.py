"""Live progress: one compact line per job instead of Keras' per-batch output.

Each job writes its state to `progress.json` in its Hydra output folder at every trial start,
epoch end and trial end (`JobProgress`). The entry process, where the terminal is, renders all
jobs' files (`Display`): redrawn in place by rich on a terminal; on anything else (CI, a log file) as
plain lines when a trial ends, and every minute otherwise. This works the same whether the jobs
run in the entry process or in Hydra's joblib workers, whose own output would interleave.
`progress=off` makes it quiet; `progress=lines` forces plain lines.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from src.runtime.files import write_atomically

PROGRESS_FILE = "progress.json"


def is_live(mode: str, stream=None) -> bool:
    """Whether `mode` redraws in place: `live`, or `auto` on a terminal that can (rich does not
    redraw on a TERM=dumb one)."""
    dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
    return mode == "live" or (mode == "auto" and (stream or sys.stderr).isatty() and not dumb)


@dataclass
class JobState:
    job: str
    max_trials: int
    epochs: int
    started: float = field(default_factory=time.time)
    trials_done: int = 0
    trials_failed: int = 0
    trial: str = ""
    trial_number: int = 0
    epoch: int = 0
    epochs_run: int = 0  # epochs trained by this run of the job (a resumed job did some before)
    epochs_before: int = 0  # trial-epochs a resumed job had done before this run
    best_val_accuracy: float | None = None
    best: str = ""  # the best trial's hyperparameters, short
    finished: bool = False
    repeat: str = ""  # "repeat 2/5" once the search is over (study.repeats)
    updated: float = field(default_factory=time.time)


class JobProgress:
    """The job's side: keeps `progress.json` current (written atomically, a few times a trial)."""

    def __init__(
        self, folder: str | Path, job: str, max_trials: int, epochs: int, trials_done: int = 0
    ):
        self.path = Path(folder) / PROGRESS_FILE
        self.state = JobState(
            job,
            max_trials,
            epochs,
            trials_done=trials_done,
            trial_number=trials_done,
            epochs_before=trials_done * epochs,
        )
        self._write()

    def _write(self) -> None:
        self.state.updated = time.time()
        write_atomically(self.path, json.dumps(asdict(self.state)))

    def trial_started(self, trial_id: str, number: int) -> None:
        self.state.trial, self.state.trial_number, self.state.epoch = trial_id, number, 0
        self._write()

    def epoch_ended(self, epoch: int) -> None:
        self.state.epoch = epoch + 1
        self.state.epochs_run += 1
        self._write()

    def trial_ended(self, failed: bool, best_val_accuracy: float | None, best: str) -> None:
        self.state.trials_done += 1
        self.state.trials_failed += failed
        if best_val_accuracy is not None:
            self.state.best_val_accuracy, self.state.best = best_val_accuracy, best
        self._write()

    def repeat_started(self, number: int, total: int) -> None:
        self.state.repeat, self.state.epoch = f"repeat {number}/{total}", 0
        self._write()

    def finished(self) -> None:
        self.state.finished = True
        self._write()


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def describe(state: dict, now: float | None = None) -> str:
    """One line: trial i of N, epoch, elapsed, estimated time left, best so far."""
    now = now or time.time()
    elapsed = now - state["started"]
    line = state.get("repeat") or f"trial {state['trial_number']:>2}/{state['max_trials']}"
    if not state["finished"]:
        line += f"  epoch {state['epoch']}/{state['epochs']}"
    line += f"  {_clock(elapsed)}"
    run = state["epochs_run"]
    left = state["max_trials"] * state["epochs"] - state["epochs_before"] - run
    if state["finished"]:
        line += "  done"
    elif run and not state.get("repeat"):  # s per trial-epoch so far x trial-epochs left
        line += f"  ~{_clock(elapsed / run * max(left, 0))} left"
    if state["best_val_accuracy"] is not None:
        line += f"  best val_accuracy {state['best_val_accuracy']:.4f} ({state['best']})"
    if state["trials_failed"]:
        line += f"  {state['trials_failed']} failed"
    return line


class Display:
    """The entry process's side: render every watched job's progress until stopped.

    On a terminal a `rich.live.Live` redraws one line per job in place (refreshed by this
    class's own thread, not rich's); otherwise plain `[progress]` lines."""

    def __init__(
        self, mode: str = "auto", stream=None, interval: float = 0.5, heartbeat: float = 60.0
    ):
        self.stream = stream or sys.stderr
        live = is_live(mode, self.stream)
        self.mode = "off" if mode == "off" else ("live" if live else "lines")
        self.interval, self.heartbeat = interval, heartbeat
        self._folders: list[Path] = []
        self._seen: dict[str, tuple] = {}
        self._last_line: dict[str, float] = {}
        self._live: Live | None = None
        self._lock = threading.Lock()  # one render at a time: the thread's or a caller's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def watch(self, folder: str | Path) -> None:
        """Render the jobs whose progress files are in `folder` or its sub-folders."""
        self._folders.append(Path(folder))
        if self.mode != "off" and self._thread is None:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="progress")
            self._thread.start()

    def _states(self) -> list[dict]:
        states = []
        for folder in self._folders:
            for path in sorted(folder.glob(f"**/{PROGRESS_FILE}")):
                try:
                    states.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue  # being replaced this instant
        return states

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.render()

    def render(self) -> None:
        states = self._states()
        if not states:
            return
        now = time.time()
        width = max(len(s["job"]) for s in states)
        with self._lock:
            if self.live:
                self._redraw(states, width, now)
            else:
                self._print_changed(states, width, now)

    def _redraw(self, states: list[dict], width: int, now: float) -> None:
        if self._live is None:
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(
                console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
            )
            self._live.start()
            atexit.register(self.stop)  # whatever ends the process, the cursor comes back
        # A line longer than the terminal is cut, not wrapped: wrapping would break the redraw.
        lines = [
            Text.assemble(
                (f"{s['job']:<{width}}", "bold"),
                "  ",
                describe(s, now),
                no_wrap=True,
                overflow="ellipsis",
            )
            for s in states
        ]
        self._live.update(Group(*lines), refresh=True)

    def _print_changed(self, states: list[dict], width: int, now: float) -> None:
        for s in states:
            key = (s["trials_done"], s["finished"], s.get("repeat"))
            due = now - self._last_line.get(s["job"], now) >= self.heartbeat
            if self._seen.get(s["job"]) != key or due:
                self._seen[s["job"]], self._last_line[s["job"]] = key, now
                print(
                    f"[progress] {s['job']:<{width}}  {describe(s, now)}",
                    file=self.stream,
                    flush=True,
                )

    def stop(self) -> None:
        """Draw the final state once more and stop (once: later calls do nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self.render()
        with self._lock:
            if self._live is not None:
                self._live.stop()


_display: Display | None = None


def display() -> Display:
    """The process's display (off until `start` is called by an entry point)."""
    global _display
    if _display is None:
        _display = Display("off")
    return _display


def start(mode: str) -> Display:
    global _display
    if _display is None or _display.mode == "off":
        _display = Display(mode)
    return _display
