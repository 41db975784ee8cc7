"""keras-tuner's distributed tuning: a chief serves the oracle over gRPC, workers run trials.

Nothing here schedules trials: keras-tuner's own `OracleServicer` and `OracleClient` do, selected
by `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. This module starts
the pieces and watches them:

- the **chief** is the job's own process: it opens the job's MLflow run, serves its tuner's
  oracle (whose state is saved in the tuner folder after every change, so a restarted chief
  resumes), and with `distributed.workers=N` starts N local worker processes on loopback and
  replaces one that dies (its trial is marked KILLED and keras-tuner hands it to the
  replacement, which trains it again);
- a **worker** is `python -m src.sweep <the same config> distributed.role=worker`: it finds the
  job's run (by search key, in the shared tracking store), asks the chief for trials and records
  each as a child run of the job, tagged with its `tuner_id`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from src import servers
from src.errors import JobFailed, UserError

log = logging.getLogger("sweep")

# The job run a local worker records its trials under (set by its chief).
JOB_RUN_ENV = "SWEEP_JOB_RUN_ID"
# A local worker's chief: when that process is gone, the worker stops (its trial marked KILLED).
CHIEF_PID_ENV = "SWEEP_CHIEF_PID"
POLL_SECONDS = 0.5
# A worker stopped by its chief gets this long to close its trial's run before SIGKILL.
STOP_GRACE_SECONDS = 60


class DistributedError(UserError):
    """A distributed setting that cannot work (address, role)."""


def _quiet_keras_tuner() -> None:
    """keras-tuner 1.4's `Parent.to_proto` prints each conditional scope's first value (a
    left-over debug print) every time a space crosses gRPC; a module-level `print` shadows it."""
    from keras_tuner.src.engine import conditions

    conditions.print = lambda *args, **kwargs: None


def parse_address(text: str | None, field_name: str = "distributed.chief") -> tuple[str, int]:
    host, _, port = str(text or "").rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise DistributedError(f"{field_name}: got {text!r}; use HOST:PORT, e.g. 10.0.0.5:8470")
    return host, int(port)


def is_chief(cfg: DictConfig) -> bool:
    return cfg.distributed.role == "chief" or (
        cfg.distributed.role == "local" and cfg.distributed.workers > 0
    )


def is_worker(cfg: DictConfig) -> bool:
    return cfg.distributed.role == "worker"


def worker_threads(cfg: DictConfig) -> int:
    """TensorFlow threads per local worker: `train.threads`, or with 0 (all cores) the
    machine's cores shared among the workers."""
    if cfg.train.threads > 0:
        return cfg.train.threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, cfg.distributed.workers))


class OracleServer:
    """keras-tuner's `OracleServicer` for `oracle` on `host:port` (0: any free port)."""

    def __init__(self, oracle, host: str, port: int):
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief

        _quiet_keras_tuner()
        self.oracle = oracle
        self._exit_chief = oracle_chief.exit_chief
        self.servicer = oracle_chief.OracleServicer(oracle)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
        try:
            bound = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            bound = 0
        if not bound:
            raise DistributedError(
                f"distributed.chief: cannot listen on {host}:{port} (in use or not this "
                "host's address); choose another port"
            )
        self.host, self.port = host, bound
        self.server.start()

    def done(self) -> bool:
        """The oracle has said stop to a worker, and no worker holds a trial or is still asking
        (keras-tuner's own condition for the chief to exit)."""
        return self.servicer.stop_triggered and self._exit_chief(self.oracle)

    def stop(self) -> None:
        self.server.stop(grace=2).wait(5)


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
            servers.stop(self.proc, STOP_GRACE_SECONDS, group=False)


def _worker_args(cfg: DictConfig, overrides, address: str, tuner_id: str, out: Path) -> list:
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
        f"train.threads={worker_threads(cfg)}",
        "progress=off",
        "hydra.mode=RUN",
        f"hydra.run.dir={out / tuner_id}",
    ]


def run_chief(tuner, cfg: DictConfig, tracker, run_id: str | None, context, progress=None) -> None:
    """Serve the oracle until the search is done; start and watch the local workers."""
    d = cfg.distributed
    if d.role == "chief":
        host, port = parse_address(d.chief)
    else:  # one machine: loopback, any free port (jobs of a multirun never collide)
        host, port = "127.0.0.1", 0
    tuner.oracle.verbose = 0  # the chief runs no trial; workers' runs and our progress report
    server = OracleServer(tuner.oracle, host, port)
    address = f"{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.port}"
    tracker.set_tags(run_id, {"oracle_address": f"{host}:{server.port}", "workers": d.workers})
    out = Path(context.output_dir or ".") / "workers"
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        CHIEF_PID_ENV: str(os.getpid()),
        **({JOB_RUN_ENV: run_id} if run_id else {}),
    }
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    workers = [
        LocalWorker(
            tid,
            _worker_args(cfg, context.overrides, address, tid, out),
            env,
            out / f"{tid}.log",
        )
        for tid in (f"worker-{i}" for i in range(d.workers))
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
    from src.tuner import report_trial_ended

    ended = [t for t in tuner.oracle.trials.values() if t.status not in ("RUNNING", "IDLE", None)]
    for trial in ended:
        if trial.trial_id in seen:
            continue
        seen.add(trial.trial_id)
        progress.trial_started(trial.trial_id, len(seen))
        report_trial_ended(progress, tuner.oracle, tuner.hypermodel, trial)


def connect_worker(cfg: DictConfig) -> str:
    """Point keras-tuner at the chief (its environment variables); returns this tuner id."""
    host, port = parse_address(cfg.distributed.chief)
    tuner_id = cfg.distributed.tuner_id or f"worker-{socket.gethostname()}"
    if "chief" in tuner_id:  # keras-tuner would take it for the chief
        raise DistributedError(
            f"distributed.tuner_id: got {tuner_id!r}; a worker's id must not contain 'chief'"
        )
    _quiet_keras_tuner()
    os.environ["KERASTUNER_TUNER_ID"] = tuner_id
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = str(port)
    return tuner_id


def job_run_of(tracker, key: str, timeout: float) -> str | None:
    """The chief's job run this worker records under: given by a local chief, else the RUNNING
    job run of the same search in the shared store (waiting for the chief to open it)."""
    given = os.environ.get(JOB_RUN_ENV)
    if given or not tracker.enabled:
        return given or None
    deadline = time.monotonic() + timeout
    while True:
        found = tracker.find_job_run(key, running=True)
        if found is not None or time.monotonic() > deadline:
            break
        time.sleep(2)
    if found is None:
        raise JobFailed(
            f"distributed: no running job of this search (key {key}) in the tracking store "
            f"after {timeout:.0f} s; start the chief first, with the same config and tracking.uri"
        )
    return found


def watch_chief() -> None:
    """A local worker stops (SIGTERM to itself: its trial is marked KILLED) when its chief is
    gone, instead of waiting for it for an hour."""
    chief = os.environ.get(CHIEF_PID_ENV)
    if not chief:
        return

    def watch() -> None:
        while os.getppid() == int(chief):
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-chief", daemon=True).start()
