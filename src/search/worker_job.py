"""What a submitit job runs on its node: one worker's command, watched
(src/search/submitit_workers.py submits it; the job unpickles it from there)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

from src.search.distributed import CHIEF_PID_ENV, parse_address

# The first line a worker's job writes to its log: its tuner id and the host it runs on.
WORKER_LINE = "sweep-worker:"


@dataclass
class WorkerCommand:
    """What a submitit job runs: one worker's command. It writes its host to the job's log,
    passes the job's stop signals on to the worker, stops it once its chief has been out of
    reach for `chief_timeout` seconds, and returns how the worker ended."""

    tuner_id: str
    args: list[str]
    cwd: str
    env: dict[str, str]
    chief: str  # HOST:PORT, as the worker dials it
    chief_timeout: float

    def __call__(self) -> dict:
        host = socket.gethostname()
        print(f"{WORKER_LINE} {self.tuner_id} on {host}", flush=True)
        env = {**os.environ, **self.env, CHIEF_PID_ENV: str(os.getpid())}
        # SLURM signals every process of the job: the worker ignores submitit's warning
        # (SIGUSR2, before the time limit) and gets it from here as SIGTERM.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        proc = subprocess.Popen(self.args, cwd=self.cwd, env=env)

        def forward(signum, frame) -> None:  # SLURM's preemption, scancel, submitit's timeout
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the worker marks its trial KILLED

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2):
            signal.signal(sig, forward)
        self._watch_chief(proc)
        return {"code": proc.wait(), "host": host}

    def _watch_chief(self, proc: subprocess.Popen) -> None:
        """keras-tuner's client waits for a chief forever: a worker whose chief is gone (killed,
        its login session lost) would hold its node until the time limit. Stop it instead."""
        address = parse_address(self.chief)
        lost = None
        while proc.poll() is None:
            time.sleep(min(2.0, self.chief_timeout / 4))
            try:
                socket.create_connection(address, timeout=5).close()
                lost = None
            except OSError:
                lost = lost or time.monotonic()
                if time.monotonic() - lost >= self.chief_timeout:
                    print(f"{WORKER_LINE} the chief at {self.chief} is gone; stopping", flush=True)
                    proc.send_signal(signal.SIGTERM)
                    return
