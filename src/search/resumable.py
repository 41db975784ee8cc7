"""The tuner's side of resuming a trial (src/search/resume.py): find a trial's resume point
before it trains, take it up when its fit starts, leave a new one at every epoch's end."""

from __future__ import annotations

import logging
from pathlib import Path

from src.search.kt_private import best_checkpoint
from src.search.resume import (
    Restore,
    ResumePoint,
    clear,
    early_stopping_state,
    fingerprint,
    finished_history,
    load,
    merged,
    repair_best_checkpoint,
    save,
)

log = logging.getLogger(__name__)


class ResumableTrials:
    """Mixin over a keras-tuner Tuner: each epoch leaves a resume point in the trial's folder,
    and a trial with a usable one continues from it. `run_trial` calls `find_resume_point`
    first; `on_epoch_end` calls `save_resume_point` before handing the epoch's metrics over."""

    resume_point: ResumePoint | None = None
    resume_refused: str | None = None  # why the trial's resume point was not used
    pruned_at: int | None = None
    _callbacks: tuple = ()  # the trial's callbacks, as keras-tuner made them for its fit

    def find_resume_point(self, trial, defining: dict) -> None:
        """The trial's resume point if it can be used (above), else None and
        why not; the trial's history so far starts from it."""
        self._trial_folder = Path(self.get_trial_dir(trial.trial_id))
        self._fingerprint = fingerprint(defining)
        self.resume_point, self.resume_refused = load(self._trial_folder, self._fingerprint)
        if self.resume_refused:
            self.refuse_resume(trial, self.resume_refused)
        point = self.resume_point
        self._history = {k: list(v) for k, v in point.history.items()} if point else {}
        self._epoch_times = list(point.epoch_times) if point else []
        self.pruned_at = point.pruned_at if point else None

    def refuse_resume(self, trial, why: str) -> None:
        log.warning("trial %s is trained from epoch 0: %s", trial.trial_id, why)
        self.resume_point, self.resume_refused, self.pruned_at = None, why, None
        self._history, self._epoch_times = {}, []
        clear(self._trial_folder)

    def _build_and_fit_model(self, trial, *args, **kwargs):
        # keras-tuner's override point (its docstring: for AutoKeras) between the trial's
        # callbacks, made per trial, and the fit: where a resumed trial takes up its state.
        self._callbacks = kwargs.get("callbacks", [])
        point = self.resume_point
        self._first_epoch = point.first_epoch if point else kwargs.get("initial_epoch", 0)
        best = best_checkpoint(self, trial.trial_id)
        if point is not None and point.stopped:  # it had ended; only its record was missing
            repair_best_checkpoint(self._trial_folder, point, best)
            return finished_history(point, kwargs.get("epochs", 1))
        if point is not None:
            restore = Restore(self._trial_folder, point, self._callbacks, best)
            kwargs = {**kwargs, "initial_epoch": point.next_epoch}
            kwargs["callbacks"] = [*self._callbacks, restore]
        try:
            return merged(point, super()._build_and_fit_model(trial, *args, **kwargs))
        finally:
            # They hold the trial's model: kept, its traced functions would outlive the trial's
            # release (src/runtime/tf.py) and fail to free themselves later.
            self._callbacks = ()

    def save_resume_point(self, model, epoch: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self._history.setdefault(key, []).append(value)
        point = ResumePoint(
            self._fingerprint,
            epoch,
            weights="",
            crc32=0,
            history=self._history,
            epoch_times=self._epoch_times,
            early_stopping=early_stopping_state(self._callbacks),
            stopped=bool(model.stop_training),
            pruned_at=self.pruned_at,
            run_id=self.tracking.current_run_id if getattr(self, "tracking", None) else None,
            first_epoch=self._first_epoch,
        )
        save(self._trial_folder, model, point)
