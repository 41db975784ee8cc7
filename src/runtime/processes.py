"""Local helper processes on loopback: started, waited for, and stopped with their children.

Used for `mlflow ui` (src/ui.py), `mlflow models serve` and `mlflow server` in tests, and by the
distributed sweep's chief and workers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# MLflow 3's server (`mlflow ui` too) also starts job runners (huey consumers) for its GenAI
# jobs, which this project never submits: about 20 s of CPU at every start on 2 cores, and 3 s
# longer to answer. Off unless the environment says otherwise.
NO_JOB_RUNNERS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with this interpreter's bin folder first on PATH: MLflow starts helper
    commands (uvicorn, gunicorn) by name, which fails outside an activated virtualenv. Its
    server's job runners are off (NO_JOB_RUNNERS)."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **NO_JOB_RUNNERS,
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        **(extra or {}),
    }


@contextmanager
def running(
    args: Sequence[str],
    ready_url: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[subprocess.Popen]:
    """Run `args` in its own process group until the block ends; wait until `ready_url` answers.

    Raises:
        RuntimeError: the process exited or did not answer within `timeout` seconds.
    """
    with open(log, "w") as out:
        proc = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=tool_env(env),
        )
    try:
        if not ready(ready_url, timeout, alive=lambda: proc.poll() is None):
            raise RuntimeError(f"{args[0]} did not start; see {log}")
        yield proc
    finally:
        stop(proc)


def ready(
    url: str, timeout: float, alive: Callable[[], bool] = lambda: True, every: float = 0.5
) -> bool:
    """Whether `url` answers within `timeout` seconds, asked every `every` seconds (False at
    once if `alive()` says the process that would answer has ended)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            if not alive() or time.monotonic() > deadline:
                return False
            time.sleep(every)


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended after `grace` seconds, to the process and its
    children: it was started in a session of its own, its process group."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
