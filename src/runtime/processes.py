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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with this interpreter's bin folder first on PATH: MLflow starts helper
    commands (uvicorn, gunicorn) by name, which fails outside an activated virtualenv."""
    bin_dir = str(Path(sys.executable).parent)
    return {
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
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{args[0]} did not start; see {log}") from None
                time.sleep(0.5)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, grace: float = 10, group: bool = True) -> None:
    """SIGTERM, then SIGKILL if it has not ended after `grace` seconds. `group`: the process
    was started in its own session, and its children (its process group) go with it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
