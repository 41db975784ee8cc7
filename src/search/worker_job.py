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
        # One stop signal reaches the worker, SIGTERM (it marks its trial KILLED): a second one
        # while it unwinds TensorFlow and gRPC once aborted it. So it runs in a session of its
        # own (a terminal's Ctrl-C to submitit_local's process group is not delivered twice),
        # ignores submitit's time-limit warning (SIGUSR2, which SLURM sends every process of
        # the job), and gets SIGTERM from here, except on SLURM, which sends its own SIGTERM
        # (scancel, preemption) to every process of the job, this one's worker included.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        proc = subprocess.Popen(self.args, cwd=self.cwd, env=env, start_new_session=True)

        def forward(signum, frame) -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

        stops = [signal.SIGINT, signal.SIGUSR2]  # submitit_local's cancel; the time limit
        if "SLURM_JOB_ID" not in os.environ:
            stops.append(signal.SIGTERM)
        for sig in stops:
            signal.signal(sig, forward)
        if signal.SIGTERM not in stops:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # wait for the worker to close up
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
