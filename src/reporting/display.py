"""Live progress, the entry process's side: every job's `progress.json` rendered.

Redrawn in place by rich on a terminal; on anything else (CI, a log file) as plain lines when a
trial ends, and every minute otherwise. `progress=off` makes it quiet; `progress=lines` forces
plain lines. The jobs write their state with src/search/progress.py.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from src.search.progress import PROGRESS_FILE


def is_live(mode: str, stream=None) -> bool:
    """Whether `mode` redraws in place: `live`, or `auto` on a terminal that can (rich does not
    redraw on a TERM=dumb one)."""
    dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
    return mode == "live" or (mode == "auto" and (stream or sys.stderr).isatty() and not dumb)


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
            key = (s["trials_done"], s["finished"], s.get("repeat"), bool(s.get("waiting")))
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


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def time_left(state: dict, now: float) -> tuple[float, bool] | None:
    """Seconds left and whether the time budget decides them (None: no epoch timed yet).
    Seconds per trial-epoch so far, times the trial-epochs left: the trial in progress and the
    trials not started, each as long as the trials this run ended (early stopping and pruning
    shorten them) or as planned; under `tuner.max_minutes`, the budget's end plus the trial
    then in progress, if that comes first."""
    run = state["epochs_run"]
    if not run:
        return None
    per_epoch = (now - state["started"]) / run
    trials = state.get("planned_trials") or state["max_trials"]
    planned = state.get("planned_epochs") or state["max_trials"] * state["epochs"]
    ended = state.get("ended_here", 0)
    per_trial = state.get("epochs_ended_here", 0) / ended if ended else planned / trials
    current = max(per_trial - state.get("trial_epochs", 0), 0)
    not_started = max(trials - state["trials_done"] - 1, 0)
    seconds = (current + not_started * per_trial) * per_epoch
    deadline = state.get("deadline")
    if deadline is not None:
        budget = max(deadline - now, 0) + current * per_epoch
        if budget < seconds:
            return budget, True
    return seconds, False


def describe(state: dict, now: float | None = None) -> str:
    """One line: trial i of N, epoch, elapsed, estimated time left, best so far."""
    now = now or time.time()
    elapsed = now - state["started"]
    trials = state.get("planned_trials") or state["max_trials"]
    line = state.get("repeat") or f"trial {state['trial_number']:>2}/{trials}"
    if not state["finished"]:
        line += f"  epoch {state['epoch']}/{state['epochs']}"
    line += f"  {_clock(elapsed)}"
    left = time_left(state, now)
    if state["finished"]:
        line += "  done"
    elif left is not None and not state.get("repeat"):
        line += f"  ~{_clock(left[0])} left" + (" (budget)" if left[1] else "")
    if state["best_val_accuracy"] is not None:
        line += f"  best val_accuracy {state['best_val_accuracy']:.4f} ({state['best']})"
    for word in ("pruned", "failed"):
        if state.get(f"trials_{word}"):
            line += f"  {state[f'trials_{word}']} {word}"
    if state.get("waiting"):
        line += f"  {state['waiting']} records waiting for the store"
    return line
