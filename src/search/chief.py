"""The chief of a distributed search: serves the oracle, starts its workers and watches them.

Its workers are local processes (`distributed.launcher=local`, src/search/local_workers.py) or
submitit jobs (`submitit_local`, `submitit_slurm`: src/search/submitit_workers.py). Either kind
that dies is started again with its tuner id, up to `distributed.max_worker_restarts`; at the end
the chief names each worker's host and log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from pathlib import Path

from src.config.schema import Config
from src.errors import JobFailed
from src.search import local_workers, oracle_auth, submitit_workers, worker_job
from src.search.distributed import (
    JOB_RUN_ENV,
    POLL_SECONDS,
    STOP_GRACE_SECONDS,
    parse_address,
    worker_threads,
)
from src.search.oracle_server import OracleServer
from src.search.time_budget import hold_to_budget

# Imported inside functions: keras-tuner's side of a trial's end loads only in a chief reporting
# its workers' trials.

log = logging.getLogger("sweep")

# A worker gone this long with the search unfinished (and no other to come) fails the job.
IDLE_SECONDS = 10


def run_chief(tuner, cfg: Config, tracker, run_id: str | None, context, progress=None) -> list:
    """Serve the oracle until the search is done; start and watch the workers. Returns each
    worker's tuner id, host, log and restarts."""
    d = cfg.distributed
    host, port, token = _listen_on(d)
    tuner.oracle.verbose = 0  # the chief runs no trial; workers' runs and our progress report
    if cfg.tuner.max_minutes is not None:
        hold_to_budget(tuner, cfg.tuner.max_minutes, progress)
    server = OracleServer(tuner.oracle, host, port, token, d.tls_cert, d.tls_key)
    address = f"{_reachable(host, d.launcher)}:{server.port}"
    tags = {"oracle_address": f"{host}:{server.port}", "workers": d.workers}
    tracker.set_tags(run_id, {**tags, **({"gpus": ",".join(d.gpus)} if d.gpus else {})})
    out = Path(context.output_dir or ".").absolute() / "workers"
    out.mkdir(parents=True, exist_ok=True)
    log.info(
        "%s: chief serving the oracle on %s:%d for %d %s worker(s)%s",
        context.name,
        host,
        server.port,
        d.workers,
        d.launcher,
        "" if d.role == "local" else f"; remote workers: distributed.chief=HOST:{server.port}",
    )
    seen: set[str] = set()
    workers: list = []
    token_file = out / "oracle.token"
    try:
        workers = _launch(cfg, context, address, token, run_id, out, token_file)
        idle_since = None
        while not server.done():
            time.sleep(POLL_SECONDS)
            for worker in workers:
                _check(worker, tracker, run_id, d.max_worker_restarts)
            if progress is not None:
                _report(tuner, progress, seen)
            if d.role == "local" and all(w.finished for w in workers):
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > IDLE_SECONDS:  # trials unfinished
                    raise JobFailed("distributed: every worker exited before the search ended")
    finally:
        finished = server.done()
        if finished:  # the search has ended: the workers are leaving by themselves
            _wait_for_exit(workers, IDLE_SECONDS)
        _stop(workers)  # on an error or a signal: each closes its trial's run
        server.stop()
        if run_id and not finished:  # a trial whose worker was killed before closing its run
            with contextlib.suppress(Exception):
                tracker.close_orphans(run_id)
        token_file.unlink(missing_ok=True)
        rows = _rows(workers)
        _summarise(context.name, rows)
    if run_id and rows:
        tracker.log_json(run_id, rows, "workers.json")
    if progress is not None:
        _report(tuner, progress, seen)
    return rows


def _listen_on(d) -> tuple[str, int, str]:
    """Where the oracle listens, and the token its workers must show."""
    if d.role == "chief" or d.launcher == "submitit_slurm":  # the token they were given
        host, port = parse_address(d.chief)
        return host, port, oracle_auth.token(d)
    # One machine: loopback, any free port (jobs of a multirun never collide), a fresh token.
    return "127.0.0.1", 0, oracle_auth.token(d, required=False) or oracle_auth.new_token()


def _reachable(host: str, launcher: str) -> str:
    """The address a worker dials for a chief listening on `host`."""
    if host not in ("0.0.0.0", "::"):
        return host
    return socket.getfqdn() if launcher == "submitit_slurm" else "127.0.0.1"


def _launch(cfg: Config, context, address: str, token: str, run_id, out: Path, token_file: Path):
    """Start the workers: local processes, or submitit jobs given the token in a file."""
    d = cfg.distributed
    if d.launcher == "local":
        return local_workers.start(cfg, context.overrides, address, token, run_id, out)
    extra = []
    if d.token_file:
        extra.append(f"distributed.token_file={Path(d.token_file).expanduser().absolute()}")
    elif not os.environ.get(oracle_auth.TOKEN_ENV):  # a fresh token: in a file only we read
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(token)
        extra.append(f"distributed.token_file={token_file}")
    if d.launcher == "submitit_slurm":
        threads = d.slurm.cpus_per_task or cfg.train.threads  # 0: every CPU the job was given
    else:
        threads = worker_threads(cfg.train.threads, d)
    commands = [
        worker_job.WorkerCommand(
            tid,
            local_workers.worker_args(cfg, context.overrides, address, tid, out, threads, *extra),
            os.getcwd(),
            {JOB_RUN_ENV: run_id} if run_id else {},
            address,
            d.chief_timeout,
        )
        for tid in (f"worker-{i}" for i in range(d.workers))
    ]
    folder = Path(d.slurm.submitit_folder or out / "submitit").expanduser().absolute()
    return submitit_workers.submit(d, folder, context.name, commands)


def _check(worker, tracker, run_id: str | None, max_restarts: int) -> None:
    """Note a worker's end; start one that died again (same tuner id) while restarts remain."""
    if worker.finished:
        return
    ended = worker.ended()
    if ended is None:
        return
    kind, detail = ended
    if kind == "done":
        worker.finished = True
        return
    if kind == "error":
        raise JobFailed(f"distributed: {worker.tuner_id} failed: {detail}")
    worker.deaths += 1
    killed = tracker.close_orphans(run_id, tuner_id=worker.tuner_id) if run_id else []
    if worker.deaths > max_restarts:
        raise JobFailed(
            f"distributed: {worker.tuner_id} died {worker.deaths} times (last: {detail}); "
            f"see {worker.log_path} (distributed.max_worker_restarts={max_restarts})"
        )
    log.warning(
        "%s died (%s)%s; starting it again",
        worker.tuner_id,
        detail,
        f" during trial {', '.join(killed)}, marked KILLED" if killed else "",
    )
    worker.start()


def _stop(workers) -> None:
    """Ask every worker to stop at once, give them one grace time, then kill what is left."""
    for worker in workers:
        worker.cancel()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and not all(w.gone() for w in workers):
        time.sleep(POLL_SECONDS)
    for worker in workers:
        worker.kill()


def _wait_for_exit(workers, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(w.ended() is None for w in workers):
        time.sleep(POLL_SECONDS)


def _rows(workers) -> list[dict]:
    return [
        {
            "tuner_id": w.tuner_id,
            "host": w.host or "(never started)",
            "log": str(w.log_path),
            "restarts": w.deaths,
            "earlier_logs": [str(p) for p in w.logs[:-1]],
        }
        for w in workers
    ]


def _summarise(name: str, rows: list[dict]) -> None:
    """The closing lines: each worker's host, restarts and log."""
    with contextlib.suppress(Exception):  # never hides why the chief ended
        for row in rows:
            again = f", restarted {row['restarts']}x" if row["restarts"] else ""
            log.info(
                "%s: %s on %s%s, log %s", name, row["tuner_id"], row["host"], again, row["log"]
            )


def _report(tuner, progress, seen: set[str]) -> None:
    """The chief's progress: trials ended so far and the best, from the oracle it serves."""
    from src.search.trials import report_trial_ended

    ended = [t for t in tuner.oracle.trials.values() if t.status not in ("RUNNING", "IDLE", None)]
    for trial in ended:
        if trial.trial_id in seen:
            continue
        seen.add(trial.trial_id)
        progress.trial_started(trial.trial_id, len(seen))
        report_trial_ended(progress, tuner.oracle, tuner.hypermodel, trial)
