"""The chief of a distributed search: serves the oracle, starts and watches local workers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from src.config.schema import Config
from src.errors import JobFailed
from src.runtime import processes
from src.search import oracle_auth
from src.search.distributed import (
    CHIEF_PID_ENV,
    JOB_RUN_ENV,
    POLL_SECONDS,
    STOP_GRACE_SECONDS,
    parse_address,
    worker_threads,
)
from src.search.gpus import GPU_ENV
from src.search.oracle_server import OracleServer
from src.search.time_budget import hold_to_budget

# Imported inside functions: keras-tuner's side of a trial's end loads only in a chief reporting
# its workers' trials.

log = logging.getLogger("sweep")


@dataclass
class LocalWorker:
    """One worker process on this machine, started again (same tuner id) if it dies."""

    tuner_id: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    deaths: int = 0
    finished: bool = False
    _log: object = field(default=None, repr=False)

    def start(self) -> None:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def last_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text().splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""

    def stop(self) -> None:
        """SIGTERM (the worker marks its trial KILLED), then SIGKILL after the grace time."""
        if self.proc is not None:  # in the chief's process group: signalled alone
            processes.stop(self.proc, STOP_GRACE_SECONDS, group=False)


def _worker_args(cfg: Config, overrides, address: str, tuner_id: str, out: Path) -> list:
    """The command of a local worker: the job's own overrides, in the worker role."""
    kept = [o for o in overrides if not o.split("=")[0].lstrip("+~").startswith("distributed.")]
    return [
        sys.executable,
        "-m",
        "src.sweep",
        *kept,
        f"distributed.workers={cfg.distributed.workers}",
        "distributed.role=worker",
        f"distributed.chief={address}",
        f"distributed.tuner_id={tuner_id}",
        *([f"distributed.tls_cert={cfg.distributed.tls_cert}"] if cfg.distributed.tls_cert else []),
        f"train.threads={worker_threads(cfg.train.threads, cfg.distributed)}",
        "progress=off",
        "hydra.mode=RUN",
        f"hydra.run.dir={out / tuner_id}",
    ]


def run_chief(tuner, cfg: Config, tracker, run_id: str | None, context, progress=None) -> None:
    """Serve the oracle until the search is done; start and watch the local workers."""
    d = cfg.distributed
    host, port, token = _listen_on(d)
    tuner.oracle.verbose = 0  # the chief runs no trial; workers' runs and our progress report
    if cfg.tuner.max_minutes is not None:
        hold_to_budget(tuner, cfg.tuner.max_minutes, progress)
    server = OracleServer(tuner.oracle, host, port, token, d.tls_cert, d.tls_key)
    address = f"{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.port}"
    tags = {"oracle_address": f"{host}:{server.port}", "workers": d.workers}
    tracker.set_tags(run_id, {**tags, **({"gpus": ",".join(d.gpus)} if d.gpus else {})})
    out = Path(context.output_dir or ".") / "workers"
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        CHIEF_PID_ENV: str(os.getpid()),
        oracle_auth.TOKEN_ENV: token,  # in the environment: never on a command line or in a log
        **({JOB_RUN_ENV: run_id} if run_id else {}),
    }
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    devices = d.gpus or [None] * d.workers  # resolved at the door (src/search/gpus.py)
    workers = [
        LocalWorker(
            tid,
            _worker_args(cfg, context.overrides, address, tid, out),
            {**env, GPU_ENV: device} if device is not None else env,
            out / f"{tid}.log",
        )
        for tid, device in ((f"worker-{i}", devices[i]) for i in range(d.workers))
    ]
    log.info(
        "%s: chief serving the oracle on %s:%d for %d local worker(s)%s",
        context.name,
        host,
        server.port,
        d.workers,
        "" if d.role == "local" else f"; remote workers: distributed.chief=HOST:{server.port}",
    )
    seen: set[str] = set()
    try:
        for worker in workers:
            worker.start()
        idle_since = None
        while not server.done():
            time.sleep(POLL_SECONDS)
            for worker in workers:
                _check(worker, tracker, run_id, d.max_worker_restarts)
            if progress is not None:
                _report(tuner, progress, seen)
            if d.role == "local" and all(w.finished for w in workers):
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 10:  # every worker left, trials unfinished
                    raise JobFailed("distributed: every worker exited before the search ended")
    finally:
        for worker in workers:  # on an error or a signal: each closes its trial's run
            worker.stop()
        server.stop()
    if progress is not None:
        _report(tuner, progress, seen)


def _listen_on(d) -> tuple[str, int, str]:
    """Where the oracle listens, and the token its workers must show."""
    if d.role == "chief":  # remote workers: the token they were given
        host, port = parse_address(d.chief)
        return host, port, oracle_auth.token(d)
    # One machine: loopback, any free port (jobs of a multirun never collide), a fresh token.
    return "127.0.0.1", 0, oracle_auth.token(d, required=False) or oracle_auth.new_token()


def _check(worker: LocalWorker, tracker, run_id: str | None, max_restarts: int) -> None:
    if worker.finished or worker.proc is None:
        return
    code = worker.proc.poll()
    if code is None:
        return
    if code == 0:
        worker.finished = True
        return
    if 0 < code < 128:  # an error, not a death: starting it again would fail the same way
        raise JobFailed(f"distributed: {worker.tuner_id} failed: {worker.last_line()}")
    worker.deaths += 1
    how = f"signal {-code}" if code < 0 else f"exit {code}"
    killed = tracker.close_orphans(run_id, tuner_id=worker.tuner_id) if run_id else []
    if worker.deaths > max_restarts:
        raise JobFailed(
            f"distributed: {worker.tuner_id} died {worker.deaths} times (last: {how}); "
            f"see {worker.log_path} (distributed.max_worker_restarts={max_restarts})"
        )
    log.warning(
        "%s died (%s)%s; starting it again",
        worker.tuner_id,
        how,
        f" during trial {', '.join(killed)}, marked KILLED" if killed else "",
    )
    worker.start()


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
