"""A stand-in for SLURM's sbatch, srun, sacct and scancel on one machine, as far as submitit uses
them: enough to run `distributed.launcher=submitit_slurm` end to end where there is no cluster.

`install(folder)` writes the four commands to `folder/bin`; put it first on PATH. sbatch runs
each task of the script's `--array` at once, in a session of its own, with SLURM's variables;
srun writes to its `--output` (SLURM's %A, %a, %j, %t filled in); sacct reports each task
RUNNING while a process of its session is left, then COMPLETED, FAILED or CANCELLED; scancel sends the task's processes SIGTERM, as SLURM
does, and marks it CANCELLED. Not SLURM: no queue, no limits, no other node.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

STATE_ENV = "STANDIN_SLURM_DIR"
TASK_ENV = "STANDIN_SLURM_TASK"


def install(folder: Path) -> Path:
    """The commands in `folder/bin`; returns that folder (for PATH)."""
    bin_dir, state = folder / "bin", folder / "slurm"
    bin_dir.mkdir(parents=True)
    state.mkdir()
    for name in ("sbatch", "srun", "sacct", "scancel"):
        path = bin_dir / name
        path.write_text(
            f'#!/bin/sh\n{STATE_ENV}={state} exec {sys.executable} {__file__} {name} "$@"\n'
        )
        path.chmod(0o755)
    return bin_dir


def _state() -> Path:
    return Path(os.environ[STATE_ENV])


def sbatch(script: str) -> None:
    text = Path(script).read_text()
    counter = _state() / "next_id"
    job_id = int(counter.read_text()) if counter.exists() else 4200
    array = re.search(r"^#SBATCH --array=0-(\d+)", text, re.M)
    tasks = range(int(array.group(1)) + 1) if array else [None]
    counter.write_text(str(job_id + 1 + len(tasks)))  # each array task has its own job id too
    for task in tasks:
        key = f"{job_id}_{task}" if task is not None else str(job_id)
        env = {
            **os.environ,
            "SLURM_JOB_ID": str(job_id if task is None else job_id + 1 + task),
            "SLURM_NTASKS": "1",
            "SLURM_JOB_NUM_NODES": "1",
            "SLURM_NODEID": "0",
            "SLURM_PROCID": "0",
            "SLURM_LOCALID": "0",
            "SLURM_JOB_NODELIST": socket.gethostname(),
            TASK_ENV: key,
            **({} if task is None else {"SLURM_ARRAY_JOB_ID": str(job_id)}),
            **({} if task is None else {"SLURM_ARRAY_TASK_ID": str(task)}),
        }
        exit_file = _state() / f"{key}.exit"
        proc = subprocess.Popen(
            ["sh", "-c", f'bash "$0"; echo $? > {exit_file}', script],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (_state() / f"{key}.pid").write_text(str(proc.pid))
    print(f"Submitted batch job {job_id}")


def srun(args: list[str]) -> None:
    output = args[args.index("--output") + 1]
    command = args[args.index("--output") + 2 :]
    e = os.environ
    for pattern, value in (
        ("%A", e.get("SLURM_ARRAY_JOB_ID", "")),
        ("%a", e.get("SLURM_ARRAY_TASK_ID", "")),
        ("%j", e["SLURM_JOB_ID"]),
        ("%t", "0"),
    ):
        output = output.replace(pattern, value)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execv(command[0], command)


def sacct(args: list[str]) -> None:
    print("JobID|State|NodeList")
    for pid_file in sorted(_state().glob("*.pid")):
        key = pid_file.stem
        exit_file, cancelled = _state() / f"{key}.exit", _state() / f"{key}.cancelled"
        if _processes(key):
            state = "RUNNING"
        elif cancelled.exists():
            state = "CANCELLED"
        elif exit_file.exists() and exit_file.read_text().strip() == "0":
            state = "COMPLETED"
        else:
            state = "FAILED"
        print(f"{key}|{state}|{socket.gethostname()}")


def _processes(key: str) -> list:
    """The task's live processes (zombies a PID 1 has not reaped yet do not count)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            env = proc.environ()  # this stand-in's task: tests side by side share job ids
            ours = env.get(TASK_ENV) == key and env.get(STATE_ENV) == os.environ[STATE_ENV]
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def scancel(args: list[str]) -> None:
    for key in [a for a in args if not a.startswith("-")]:
        if (_state() / f"{key}.pid").exists():
            (_state() / f"{key}.cancelled").touch()
            for proc in _processes(key):
                with contextlib.suppress(Exception):
                    proc.send_signal(signal.SIGTERM)


if __name__ == "__main__":
    name, rest = sys.argv[1], sys.argv[2:]
    if name == "sbatch":
        sbatch(rest[-1])
    else:
        {"srun": srun, "sacct": sacct, "scancel": scancel}[name](rest)
