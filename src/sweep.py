"""The sweep entry point: `python -m src.sweep [-m] [overrides]`.

Hydra composes the config and launches one job per combination of `-m` values. Before the first
job starts, the project's sweeper checks every job's config, tracking store and data. Each job
runs `src.job.run.run_sweep`; this module only turns its outcome into a status, an exit code
and the closing summary.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig

from src import cli
from src.errors import Interrupted
from src.reporting import progress, status, summary
from src.runtime import signals
from src.search import distributed

if TYPE_CHECKING:  # TensorFlow loads only once a job runs: refusing bad input stays fast
    pass
from src.job.context import SWEEP_ID_ENV, JobContext, new_sweep_id
from src.job.run import run_sweep

log = logging.getLogger("sweep")

_PARENT_PID_ENV = "SWEEP_PARENT_PID"


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    signals.install()  # again here: in a joblib worker, this is the process that trains
    hydra_cfg = HydraConfig.get()
    context = JobContext.from_hydra()
    output_dir = hydra_cfg.runtime.output_dir
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    in_worker = os.environ.get(_PARENT_PID_ENV) != str(os.getpid())
    if multirun and status.sweep_interrupted(hydra_cfg.sweep.dir):
        status.write_status(output_dir, context.name, "KILLED", error="not started: interrupted")
        return None
    if distributed.is_worker(cfg):  # no job of its own: trials for a chief's job
        try:
            run_sweep(cfg, context)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            message = cli.one_line(exc)
            if message is None:
                raise
            cli.fail(message, cli.exit_code(exc))
        return None
    if not multirun:  # a single run: this process is the entry process, with the terminal
        status.start_run(output_dir)
        progress.start(cfg.progress).watch(output_dir)
    if progress.is_live(cfg.progress):
        _console_warnings_only()  # the live display shows progress; the job's log keeps all
    try:
        result = run_sweep(cfg, context)
    except KeyboardInterrupt:
        status.write_status(output_dir, context.name, "KILLED", error="interrupted")
        if in_worker:
            return None  # the parent knows; raising would only make joblib kill the others
        raise
    except Exception as exc:
        message = cli.one_line(exc)
        status.write_status(
            output_dir, context.name, "FAILED", error=message or f"{exc.__class__.__name__}: {exc}"
        )
        if not multirun:
            if message is None:
                raise  # a bug: keep the traceback
            cli.fail(message, cli.exit_code(exc))  # SystemExit: Hydra adds no lines of its own
        # A multirun goes on with its other jobs; the closing summary lists every failure.
        if message is None:
            log.exception("%s failed", context.name)
        else:
            log.error("%s failed: %s", context.name, message)
        return None
    status.write_status(
        output_dir,
        context.name,
        "FINISHED",
        result=result,
        tracking_uri=cfg.tracking.uri if cfg.tracking.enabled else None,
    )
    return result.test_accuracy


def _console_warnings_only() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)


def cli_main() -> None:
    # One id for every job of this invocation, inherited by launcher subprocesses.
    os.environ.setdefault(SWEEP_ID_ENV, new_sweep_id())
    os.environ[_PARENT_PID_ENV] = str(os.getpid())
    signals.install()
    try:
        cli.run_reporting_user_errors(main)
    except KeyboardInterrupt as exc:
        _stopped(signal.SIGTERM if isinstance(exc, Interrupted) else signal.SIGINT)
    if signals.received():  # a multirun whose workers stopped on the signal
        _stopped(signals.received())
    progress.display().stop()
    if summary.finish():
        sys.exit(1)


def _stopped(signum: int) -> None:
    progress.display().stop()
    summary.finish()
    print(
        "interrupted: the trials in progress were marked KILLED; run the same command again "
        "to resume",
        file=sys.stderr,
    )
    sys.exit(signals.exit_code(signum))


if __name__ == "__main__":
    cli_main()
