"""A distributed worker's role: trials from the chief's oracle, recorded under the chief's job run."""

from __future__ import annotations

import logging
import os
import socket

from src.config.schema import Config
from src.errors import DistributedError
from src.job.context import fixed_params
from src.job.prepare import PreparedJob, search
from src.search import distributed, kt_private, oracle_auth, state
from src.search.distributed import CHIEF_PID_ENV
from src.search.gpus import GPU_ENV
from src.tracking import dataset_inputs

# Imported inside functions: gRPC and keras-tuner's side load only in a distributed worker.

log = logging.getLogger("sweep")


def run_worker(cfg: Config, job: PreparedJob) -> None:
    """A distributed worker: trials from the chief's oracle, recorded under the chief's job run."""
    from src.search.trials import TrialTracking

    tuner_id = distributed.connect_worker(cfg.distributed)
    parent = distributed.job_run_of(job.tracker, job.key, cfg.distributed.wait_for_chief)
    if parent is not None:
        # Runs this tuner id left RUNNING were a previous life of this worker's.
        killed = job.tracker.close_orphans(parent, tuner_id=tuner_id)
        if killed:
            log.info(
                "%s: trial(s) %s were cut short: %s", tuner_id, ", ".join(killed), state.CONTINUED
            )
    distributed.watch_chief()
    tracking = None
    if parent is not None:
        tracking = TrialTracking(
            job.tracker,
            parent,
            fixed_params(cfg),
            max_crashes=cfg.tuner.max_crashes_per_trial,
            tags={"tuner_id": tuner_id, "host": socket.gethostname(), **_device()},
            live_attempts=True,
            inputs=dataset_inputs(job.dataset)[:2],
            system_metrics=cfg.tracking.system_metrics,
        )
    # overwrite=False: the folder is the chief's (on one machine) and must not be wiped.
    tuner = job.tuner(cfg, overwrite=False, tracking=tracking, budget=False)  # the chief's
    d = cfg.distributed
    host, port = distributed.parse_address(d.chief)
    channel = oracle_auth.channel(host, port, oracle_auth.token(d), d.tls_cert)
    kt_private.use_channel(tuner.oracle, channel)
    log.info("%s: asking %s for trials", tuner_id, cfg.distributed.chief)
    try:
        search(tuner, cfg, job.dataset)
    except Exception as exc:
        if _refused(exc):
            raise DistributedError(
                f"distributed: the chief at {d.chief} refused this worker's token; give it "
                f"the chief's token ({oracle_auth.TOKEN_ENV} or distributed.token_file)"
            ) from None
        raise
    log.info("%s: the chief has no more trials", tuner_id)


def _refused(exc: BaseException) -> bool:
    import grpc

    while exc is not None:
        if isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _device() -> dict:
    """The GPU a local chief gave this worker (distributed.gpus), as the `gpu` tag."""
    device = os.environ.get(GPU_ENV)
    return {"gpu": device} if device is not None and os.environ.get(CHIEF_PID_ENV) else {}
