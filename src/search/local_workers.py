"""A chief's local workers: processes on this machine, started again (same tuner id) if one
dies; and, for every worker, local or submitted (src/search/submitit_workers.py), its command
and how it ended."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from src.config.schema import Config
from src.search import oracle_auth
from src.search.distributed import CHIEF_PID_ENV, JOB_RUN_ENV, worker_threads
from src.search.gpus import GPU_ENV


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
    host: str = field(default_factory=socket.gethostname)
    _log: object = field(default=None, repr=False)

    @property
    def logs(self) -> list[Path]:
        return [self.log_path]

    def start(self) -> None:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - lives as long as the process
        # A session of its own: a terminal's Ctrl-C reaches the chief, which stops its workers
        # with one SIGTERM each (a second signal while a worker unwinds could abort it).
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ended(self) -> tuple[str, str] | None:
        """None while it runs; else how it ended (`outcome`)."""
        code = self.proc.poll()
        return None if code is None else outcome(code, self.log_path)

    def cancel(self) -> None:
        """SIGTERM: the worker marks its trial KILLED and exits."""
        if not self.gone():
            self.proc.send_signal(signal.SIGTERM)

    def gone(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def kill(self) -> None:
        """SIGKILL, once its grace time has passed."""
        if not self.gone():
            self.proc.kill()
            self.proc.wait(timeout=10)


def outcome(code: int, log: Path | None) -> tuple[str, str]:
    """How a worker that exited with `code` ended: ("done", ""), ("error", its log's last
    line) or ("died", how): a signal's death, which starting it again may outlive."""
    if code == 0:
        return "done", ""
    if 0 < code < 128:  # an error, not a death: starting it again would fail the same way
        return "error", last_line(log)
    return "died", f"signal {-code}" if code < 0 else f"exit {code}"


def last_text_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def last_line(path: Path | None) -> str:
    """The last non-blank line of a log, or "" when there is none."""
    with contextlib.suppress(OSError, AttributeError):
        return last_text_line(path.read_text())
    return ""


def worker_args(
    cfg: Config, overrides, address: str, tuner_id: str, out: Path, threads: int, *extra: str
) -> list:
    """A worker's command: the job's own overrides, in the worker role."""
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
        f"train.threads={threads}",
        *extra,
        "progress=off",
        "hydra.mode=RUN",
        f"hydra.run.dir={out / tuner_id}",
    ]


def start(cfg: Config, overrides, address: str, token: str, run_id: str | None, out: Path):
    """Start `distributed.workers` local workers, worker i on the i-th of `distributed.gpus`."""
    d = cfg.distributed
    env = {
        **os.environ,
        CHIEF_PID_ENV: str(os.getpid()),
        oracle_auth.TOKEN_ENV: token,  # in the environment: never on a command line or in a log
        **({JOB_RUN_ENV: run_id} if run_id else {}),
    }
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    threads = worker_threads(cfg.train.threads, d)
    devices = d.gpus or [None] * d.workers  # resolved at the door (src/search/gpus.py)
    workers = [
        LocalWorker(
            tid,
            worker_args(cfg, overrides, address, tid, out, threads),
            {**env, GPU_ENV: device} if device is not None else env,
            out / f"{tid}.log",
        )
        for tid, device in ((f"worker-{i}", devices[i]) for i in range(d.workers))
    ]
    for worker in workers:
        worker.start()
    return workers
