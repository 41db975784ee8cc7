"""`tuner.max_minutes` with distributed workers: the chief's oracle starts no trial once the
budget has passed, as a single job's tuner does (src/search/tuners.py `pre_create_trial`).

A worker that asks for a trial after the budget is told to stop (keras-tuner's STOPPED
trial, what its oracle answers once `max_trials` is reached); a trial already running ends as
it would. Once no worker holds a trial, the chief ends the search and the job ends FINISHED,
tagged `stopped_by=time_budget`. The budget runs from the chief's start, and the first trial
always starts. Workers keep no budget of their own (src/job/worker.py): their clocks start
later, and one that stopped by itself would leave the chief waiting.
"""

from __future__ import annotations

import time

# Imported inside functions: keras-tuner loads in the chief's process only.


def hold_to_budget(tuner, minutes: float, progress=None) -> None:
    """From now, `tuner`'s oracle starts no trial after `minutes`; the job's progress shows
    the budget's end."""
    from keras_tuner.engine.trial import Trial, TrialStatus

    oracle, create = tuner.oracle, tuner.oracle.create_trial
    deadline = time.monotonic() + 60 * minutes
    started = 0
    if progress is not None:
        progress.budget(time.time() + 60 * minutes)

    def create_trial(tuner_id: str):
        nonlocal started
        spent = started and time.monotonic() >= deadline
        if spent and tuner_id not in oracle.ongoing_trials:
            tuner.stopped_by = "time_budget"
            oracle.tuner_ids.discard(tuner_id)  # told to exit, as keras-tuner's oracle does
            return Trial(oracle.hyperparameters.copy(), status=TrialStatus.STOPPED)
        trial = create(tuner_id)
        started += trial.status == TrialStatus.RUNNING
        return trial

    oracle.create_trial = create_trial
