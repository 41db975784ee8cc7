"""Live progress, the job's side: one compact line per job instead of Keras' per-batch output.

Each job writes its state to `progress.json` in its Hydra output folder at every trial start,
epoch end and trial end (`JobProgress`). The entry process renders every job's file, a line
each (src/reporting/display.py `describe`). This works the same whether the
jobs run in the entry process or in Hydra's joblib workers, whose own output would interleave.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from src.runtime.atomic import write_atomically

PROGRESS_FILE = "progress.json"


@dataclass
class JobState:
    job: str
    max_trials: int
    epochs: int
    started: float = field(default_factory=time.time)
    trials_done: int = 0
    trials_failed: int = 0
    trials_pruned: int = 0
    trial: str = ""
    trial_number: int = 0
    epoch: int = 0
    epochs_run: int = 0  # epochs trained by this run of the job (a resumed job did some before)
    best_val_accuracy: float | None = None
    best: str = ""  # the best trial's hyperparameters, short
    finished: bool = False
    repeat: str = ""  # "repeat 2/5" once the search is over (study.repeats)
    waiting: int = 0  # records the tracking store has not taken yet (it does not answer)
    # What the search will run in all (Hyperband's own plan; else max_trials x epochs), and its
    # time budget's end (tuner.max_minutes, as time.time(): no trial starts after it).
    planned_trials: int = 0
    planned_epochs: int = 0
    deadline: float | None = None
    # Trials ended by this run of the job and the epochs they trained (early stopping and
    # pruning make a trial shorter than planned), and the epochs of the trial in progress.
    ended_here: int = 0
    epochs_ended_here: int = 0
    trial_epochs: int = 0
    updated: float = field(default_factory=time.time)


class JobProgress:
    """The job's side: keeps `progress.json` current (written atomically, a few times a trial)."""

    def __init__(
        self,
        folder: str | Path,
        job: str,
        max_trials: int,
        epochs: int,
        trials_done: int = 0,
        plan: tuple[int, int] | None = None,
    ):
        """`plan`: (trials, trial-epochs) of a tuner that sizes its own search (Hyperband);
        `max_trials` still caps its trials."""
        self.path = Path(folder) / PROGRESS_FILE
        self.state = JobState(job, max_trials, epochs)
        self._writing = threading.Lock()  # the training thread's, and the tracker's counts
        self.search_loaded(trials_done, plan)

    def search_loaded(self, trials_done: int, plan: tuple[int, int] | None = None) -> None:
        """The trials done before (a resumed or warm-started search) and the tuner's own plan,
        once its state is loaded."""
        s = self.state
        trials, trial_epochs = plan or (s.max_trials, s.max_trials * s.epochs)
        s.trials_done = s.trial_number = trials_done
        s.planned_trials = min(trials, s.max_trials)
        s.planned_epochs = round(trial_epochs * s.planned_trials / max(trials, 1))
        self._write()

    def _write(self) -> None:
        with self._writing:
            self.state.updated = time.time()
            write_atomically(self.path, json.dumps(asdict(self.state)))

    def store_waiting(self, records: int) -> None:
        """How many records wait for a store that does not answer (0: all stored)."""
        self.state.waiting = records
        self._write()

    def trial_started(self, trial_id: str, number: int) -> None:
        self.state.trial, self.state.trial_number, self.state.epoch = trial_id, number, 0
        self.state.trial_epochs = 0
        self._write()

    def epoch_ended(self, epoch: int) -> None:
        self.state.epoch = epoch + 1
        self.state.epochs_run += 1
        self.state.trial_epochs += 1
        self._write()

    def budget(self, deadline: float) -> None:
        """The search's time budget ends at `deadline` (time.time())."""
        self.state.deadline = deadline
        self._write()

    def trial_ended(
        self, failed: bool, best_val_accuracy: float | None, best: str, pruned: bool = False
    ) -> None:
        self.state.trials_done += 1
        self.state.ended_here += 1
        self.state.epochs_ended_here += self.state.trial_epochs
        self.state.trials_failed += failed
        self.state.trials_pruned += pruned
        if best_val_accuracy is not None:
            self.state.best_val_accuracy, self.state.best = best_val_accuracy, best
        self._write()

    def repeat_started(self, number: int, total: int) -> None:
        self.state.repeat, self.state.epoch = f"repeat {number}/{total}", 0
        self._write()

    def finished(self) -> None:
        self.state.finished = True
        self._write()
