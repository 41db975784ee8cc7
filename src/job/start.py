"""Where a job's search starts: its saved state, when there is some and the store knows the
job (a resume), or a new search, warm-started from an earlier sweep's trials when
`tuner.warm_start` says so (src/search/warm_start.py)."""

from __future__ import annotations

import logging

from src.config.schema import Config
from src.job.context import fixed_params
from src.job.prepare import PreparedJob
from src.search import state

# Imported inside functions: keras-tuner's side of the warm start loads only when
# `tuner.warm_start` is set.

log = logging.getLogger("sweep")


def load_tuner(cfg: Config, job: PreparedJob, earlier: dict | None = None, **collaborators):
    """The job's tuner, resuming its saved state when there is some and the store knows the
    job; returns it with the job run to reopen (None: a new one). `collaborators`: the
    tuner's `tracking` and `progress` (src/search/tuners.py)."""

    tracking = cfg.tracking.enabled
    resuming = cfg.train.resume and state.has_state(job.root, job.project)
    resume_id = job.tracker.find_job_run(job.key) if resuming and tracking else None
    if resuming and tracking and resume_id is None:
        log.warning(
            "tuner state in %s has no runs in %s: starting afresh",
            job.root / job.project,
            cfg.tracking.uri,
        )
        resuming = False
    # Loading the state first: unreadable state stops here, before any run is touched.
    tuner = job.tuner(cfg, overwrite=not resuming, **collaborators)
    if cfg.tuner.warm_start:
        from src.search import warm_start

        val_fraction = cfg.data.val_fraction
        earlier = None if resuming else earlier  # a resumed search knows what it reused
        tuner.warm = warm_start.begin(tuner, earlier, fixed_params(cfg), val_fraction)
    return tuner, resume_id


def earlier_sweep(cfg: Config, job: PreparedJob, sweep_id: str) -> dict | None:
    """The earlier sweep's trials `tuner.warm_start` names, read before anything is written:
    an unknown sweep stops the job here, in one line naming the sweeps there are. `latest` is
    the newest sweep but this one (`sweep_id`), whose other jobs may have started already.
    The same command run again resumes its search, as every command does: it does not look
    for a newer `latest`."""
    if not cfg.tuner.warm_start:
        return None
    return job.tracker.earlier_trials(cfg.tuner.warm_start, sweep_id)
