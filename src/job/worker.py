"""A distributed worker's role: trials from the chief's oracle, recorded under the chief's job run."""

from __future__ import annotations

import logging
import socket

from omegaconf import DictConfig

from src.job.context import fixed_params
from src.job.prepare import PreparedJob, search
from src.search import distributed
from src.tracking import dataset_inputs

log = logging.getLogger("sweep")


def run_worker(cfg: DictConfig, job: PreparedJob) -> None:
    """A distributed worker: trials from the chief's oracle, recorded under the chief's job run."""
    from src.search.trials import TrialTracking

    tuner_id = distributed.connect_worker(cfg)
    parent = distributed.job_run_of(job.tracker, job.key, cfg.distributed.wait_for_chief)
    if parent is not None:
        # Runs this tuner id left RUNNING were a previous life of this worker's.
        killed = job.tracker.close_orphans(parent, tuner_id=tuner_id)
        if killed:
            log.info("%s: trial(s) %s were cut short and run again", tuner_id, ", ".join(killed))
    distributed.watch_chief()
    # overwrite=False: the folder is the chief's (on one machine) and must not be wiped.
    tuner = job.tuner(cfg, overwrite=False)
    if parent is not None:
        tuner.tracking = TrialTracking(
            job.tracker,
            parent,
            fixed_params(cfg),
            max_crashes=cfg.tuner.max_crashes_per_trial,
            tags={"tuner_id": tuner_id, "host": socket.gethostname()},
            live_attempts=True,
            inputs=dataset_inputs(job.dataset)[:2],
            system_metrics=cfg.tracking.system_metrics,
        )
    log.info("%s: asking %s for trials", tuner_id, cfg.distributed.chief)
    search(tuner, cfg, job.dataset)
    log.info("%s: the chief has no more trials", tuner_id)
