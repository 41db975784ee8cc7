"""The sweep entry point: `python -m src.sweep [-m] [overrides]`.

Hydra composes the config and launches one job per combination of `-m` values. Before the first
job starts, the project's sweeper checks every job's config, tracking store and data. Each job
runs `src.job.run.run_job`; this module turns how it ended into a `JobOutcome` (returned to
the sweeper through Hydra, see src/reporting/status.py) and the entry process's exit code.
"""

from __future__ import annotations

import sys

from src.runtime import ahead

if __name__ == "__main__":  # before the imports below: see src/runtime/ahead.py
    ahead.start_ahead(sys.argv[1:])

import logging
import os
import signal

import hydra
from omegaconf import DictConfig

from src import cli
from src.errors import Interrupted
from src.job.context import SWEEP_ID_ENV, JobContext, new_sweep_id
from src.job.prepare import tracking_settings
from src.job.run import run_job
from src.reporting import display, status, summary
from src.reporting.outcome import JobOutcome
from src.runtime import signals
from src.search import distributed
from src.tracking.shared import shared_tracking

# Imported inside functions: Hydra's runtime config is read only inside a Hydra job.

log = logging.getLogger("sweep")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> JobOutcome | None:
    """One job. In a multirun its outcome is returned to the sweeper, failures included; a
    single run closes with its summary, or fails with one line."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    signals.install()  # again here: in a joblib worker, this is the process that trains
    hydra_cfg = HydraConfig.get()
    context = JobContext.from_hydra()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    if multirun and signals.sweep_interrupted(hydra_cfg.sweep.dir):
        return _ended(context, "KILLED", error="not started: interrupted")
    if distributed.is_worker(cfg.distributed):  # no job of its own: trials for a chief's job
        _work_for_chief(cfg, context)
        return None
    if not multirun:  # a single run: this process is the entry process, with the terminal
        display.start(cfg.progress).watch(context.output_dir)
        if cfg.tracking.enabled:  # as a multirun's sweeper: one tracking process, summary too
            with shared_tracking():
                return _job(cfg, context, multirun)
        ahead.end_unused()
    return _job(cfg, context, multirun)


def _job(cfg: DictConfig, context: JobContext, multirun: bool) -> JobOutcome:
    if display.is_live(cfg.progress):
        _console_warnings_only()  # the live display shows progress; the job's log keeps all
    try:
        with signals.job_in_this_process():
            result = run_job(cfg, context)
    except KeyboardInterrupt:
        outcome = _ended(context, "KILLED", error="interrupted")
        if multirun:
            return outcome  # raising would only make joblib kill the other jobs
        summary.finish([outcome])
        raise
    except Exception as exc:
        message = cli.one_line(exc)
        outcome = _ended(context, "FAILED", error=message or f"{exc.__class__.__name__}: {exc}")
        if not multirun:
            if message is None:
                raise  # a bug: keep the traceback
            cli.fail(message, cli.exit_code(exc))  # SystemExit: Hydra adds no lines of its own
        # A multirun goes on with its other jobs; the closing summary lists every failure.
        if message is None:
            log.exception("%s failed", context.name)
        else:
            log.error("%s failed: %s", context.name, message)
        return outcome
    settings = tracking_settings(cfg.tracking) if cfg.tracking.enabled else None
    outcome = _ended(context, "FINISHED", result=result, tracking=settings)
    if not multirun:
        summary.finish([outcome])
    return outcome


def _ended(context: JobContext, state: str, **details) -> JobOutcome:
    outcome = JobOutcome(context.name, state, **details)
    status.write_record(context.output_dir, outcome)
    return outcome


def _work_for_chief(cfg: DictConfig, context: JobContext) -> None:
    """A distributed worker: errors in one line, as for a single run; no summary."""
    ahead.end_unused()  # it tracks through its chief's tracking process, or one of its own
    try:
        run_job(cfg, context)
    except Exception as exc:
        message = cli.one_line(exc)
        if message is None:
            raise
        cli.fail(message, cli.exit_code(exc))


def _console_warnings_only() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)


def cli_main() -> None:
    # One id for every job of this invocation, inherited by launcher subprocesses.
    os.environ.setdefault(SWEEP_ID_ENV, new_sweep_id())
    signals.install()
    unfinished = False
    try:
        cli.run_reporting_user_errors(main)
    except KeyboardInterrupt as exc:  # a single run, stopped: it printed its summary
        _stopped(signal.SIGTERM if isinstance(exc, Interrupted) else signal.SIGINT)
    except status.JobsUnfinished:  # a multirun: the sweeper printed the closing summary
        unfinished = True
    finally:
        ahead.end_unused()  # refused input, an interrupt before the jobs: nothing took it
    if signals.received():  # a multirun whose jobs stopped on the signal
        _stopped(signals.received())
    if unfinished:
        sys.exit(cli.JOB_FAILED_EXIT)


def _stopped(signum: int) -> None:
    print(
        "interrupted: the trials in progress were marked KILLED; run the same command again "
        "to resume",
        file=sys.stderr,
    )
    sys.exit(signals.exit_code(signum))


if __name__ == "__main__":
    cli_main()
