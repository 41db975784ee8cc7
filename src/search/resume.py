"""A trial that resumes from its last completed epoch instead of training again from epoch 0.

keras-tuner keeps only a trial's best epoch; an interrupted trial (Ctrl-C, SIGTERM, `kill -9`, a
lost worker) is trained again from scratch (keras-tuner issues #316 and #439). Here, at every
epoch's end, before that epoch's metrics are handed to the tracker, the trial's folder gets a
resume point: the model's state with its optimizer's (`epoch-<k>.weights.h5`, as
`save_weights` writes it) and `resume.json` naming it, with its CRC-32, the epochs' logs and
times so far, early stopping's counters, whether training was stopped (early stopping, pruning)
and a fingerprint of everything that defines the trial (its hyperparameters and the job's
settings). The learning-rate schedule is a function of the epoch and the optimizer's step
counter is in its state, so both continue where they were. The order of the training images
in the remaining epochs is drawn afresh (seeded).

A point is used only if its fingerprint matches and its weights file is the one it names; any
other point is refused with the reason, and the trial starts from epoch 0.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras

from src.model import OBJECTIVE
from src.runtime.atomic import write_atomically

STATE_FILE = "resume.json"


def fingerprint(params: dict[str, Any]) -> str:
    """What defines a trial's training: its hyperparameters and the job's settings."""
    text = json.dumps({k: str(v) for k, v in params.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class ResumePoint:
    fingerprint: str
    epoch: int  # the last completed epoch (from 0)
    weights: str  # the file, in the trial's folder
    crc32: int
    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_times: list[float] = field(default_factory=list)
    early_stopping: dict[str, Any] | None = None
    stopped: bool = False  # training ended at this epoch (early stopping, pruning)
    pruned_at: int | None = None
    run_id: str | None = None  # the trial's MLflow run, to continue in
    # The trial's first epoch: 0, or where Hyperband continues an earlier trial of its bracket
    # (`history` and `epoch_times` hold the epochs from there on).
    first_epoch: int = 0

    @property
    def next_epoch(self) -> int:
        return self.epoch + 1

    @property
    def epochs(self) -> list[int]:
        return list(range(self.first_epoch, self.next_epoch))

    @property
    def best_epoch(self) -> int:
        values = self.history[OBJECTIVE]
        return self.first_epoch + max(range(len(values)), key=values.__getitem__)

    def at(self, epoch: int) -> dict[str, float]:
        """The metrics of one epoch, and its time."""
        i = epoch - self.first_epoch
        return {**{k: v[i] for k, v in self.history.items()}, "epoch_time": self.epoch_times[i]}


def _crc32(path: Path) -> int:
    """The file's CRC-32: a check against a damaged or swapped file, not an adversary, at a
    tenth of SHA-256's cost (a 1024-unit MLP's point, 10 MB, is hashed every epoch)."""
    crc = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def save(folder: Path, model: keras.Model, point: ResumePoint) -> None:
    """Write the model's state for `point.epoch`, then the point naming it (atomically); the
    previous epoch's file goes once the new point is in place."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"epoch-{point.epoch}.weights.h5"
    model.save_weights(weights)
    point.weights, point.crc32 = weights.name, _crc32(weights)
    write_atomically(folder / STATE_FILE, json.dumps(asdict(point)))
    for old in folder.glob("epoch-*.weights.h5"):
        if old != weights:
            old.unlink(missing_ok=True)


def load(folder: Path, expected: str) -> tuple[ResumePoint | None, str | None]:
    """The folder's resume point for a trial of fingerprint `expected`, or (None, why not);
    (None, None) when there is none."""
    path = folder / STATE_FILE
    if not path.exists():
        return None, None
    try:
        point = ResumePoint(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        return None, f"its resume point is unreadable ({exc.__class__.__name__})"
    if point.fingerprint != expected:
        return None, "its resume point was made with other settings"
    weights = folder / point.weights
    if not weights.is_file() or _crc32(weights) != point.crc32:
        return None, f"its epoch-{point.epoch} weights are missing or damaged"
    return point, None


def clear(folder: Path) -> None:
    """Forget the trial's resume point (it ended, or starts afresh)."""
    (folder / STATE_FILE).unlink(missing_ok=True)
    for old in folder.glob("epoch-*.weights.h5"):
        old.unlink(missing_ok=True)


def early_stopping_state(callbacks) -> dict[str, Any] | None:
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping):
            return {"wait": callback.wait, "best": callback.best, "best_epoch": callback.best_epoch}
    return None


class Restore(keras.callbacks.Callback):
    """Puts a trial back at its resume point when its training starts: the model's and its
    optimizer's state, early stopping's counters, keras-tuner's best-epoch checkpoint and the
    best score it must beat. Appended after every other callback, so their own resets at the
    start of training come first."""

    def __init__(self, folder: Path, point: ResumePoint, callbacks: list, best_checkpoint: str):
        super().__init__()
        self.folder, self.point = folder, point
        self.callbacks, self.best_checkpoint = callbacks, best_checkpoint

    def on_train_begin(self, logs=None):
        point = self.point
        # Keras builds the optimizer when it first traces the training step, after this:
        # built now, its state (moments, step count) is loaded with the weights, not skipped.
        self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.folder / point.weights)
        best = max(point.history[OBJECTIVE])
        for callback in self.callbacks:
            if isinstance(callback, keras.callbacks.EarlyStopping) and point.early_stopping:
                for name, value in point.early_stopping.items():
                    setattr(callback, name, value)
            elif hasattr(callback, "best_value") and hasattr(callback, "objective"):
                callback.best_value = best  # keras-tuner's SaveBestEpoch
        repair_best_checkpoint(self.folder, point, self.best_checkpoint)


def repair_best_checkpoint(folder: Path, point: ResumePoint, best_checkpoint: str) -> None:
    """The point is saved just before keras-tuner's best-epoch checkpoint: when its epoch was
    the best, the interruption may have come between the two. The point holds the same state."""
    if point.best_epoch == point.epoch:
        shutil.copyfile(folder / point.weights, best_checkpoint)


def finished_history(point: ResumePoint, epochs: int):
    """The history of a trial whose training had ended at its resume point (stopped early or
    pruned) before the process died: nothing is left to train."""
    history = keras.callbacks.History()
    history.history = {k: list(v) for k, v in point.history.items()}
    history.epoch = point.epochs
    history.params = {"epochs": epochs}
    return history


def merged(point: ResumePoint | None, history):
    """The history of a resumed training, with the epochs trained before it in front."""
    if point is None:
        return history
    history.epoch = [*point.epochs, *history.epoch]
    for key, earlier in point.history.items():
        history.history[key] = [*earlier, *history.history.get(key, [])]
    return history
