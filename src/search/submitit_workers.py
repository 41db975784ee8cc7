"""A chief's workers as submitit jobs: one SLURM job array (`distributed.launcher=submitit_slurm`)
or submitit's local executor (`submitit_local`, the same path on one machine, which the tests use).

Each job runs `WorkerCommand`: the worker's own command (`python -m src.sweep ...
distributed.role=worker`), with the job's stop signals passed on to it, so a preempted, cancelled
or timed-out job marks its trial KILLED as a local worker does. The chief resubmits a job whose
worker died, with the same tuner id, and the oracle hands that id its unfinished trial again.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from src.config.schema import DistributedConfig
from src.errors import DistributedError
from src.search import oracle_auth
from src.search.distributed import parse_address
from src.search.local_workers import last_line, last_text_line, outcome
from src.search.worker_job import WORKER_LINE, WorkerCommand

# Imported inside functions: submitit loads only in a chief that submits its workers.

log = logging.getLogger("sweep")

# A job that has ended gets this long for its result file to appear (a slow shared disk).
RESULT_GRACE_SECONDS = 5
# What submitit runs to submit, watch and cancel SLURM jobs.
SLURM_COMMANDS = ("sbatch", "srun", "sacct", "scancel")
_checked = 0.0


def check_address(d: DistributedConfig) -> None:
    """At start, for submitit_slurm: an address the nodes reach, a token and TLS."""
    host, _ = parse_address(d.chief)
    if oracle_auth.is_loopback(host):
        raise DistributedError(
            f"distributed.chief: {host} is this machine's loopback, which the nodes cannot "
            "reach; give the login node's name, e.g. distributed.chief=login1.cluster:8470"
        )
    oracle_auth.check(d, host)


def check_available(launcher: str) -> None:
    """At start: submitit installed and, for submitit_slurm, SLURM's sbatch on this machine."""
    if launcher == "local":
        return
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise DistributedError(
            f"distributed.launcher={launcher} needs submitit: pip install -e '.[slurm]'"
        ) from None
    if launcher != "submitit_slurm":
        return
    if missing := [c for c in SLURM_COMMANDS if shutil.which(c) is None]:
        raise DistributedError(
            f"distributed.launcher=submitit_slurm: no {', '.join(missing)} on this machine; start "
            "the sweep on the cluster's login node, or use distributed.launcher=submitit_local"
        )


def parameters(d: DistributedConfig, name: str) -> dict:
    """submitit's parameters for each worker job, from `distributed.slurm.*`."""
    s = d.slurm
    given = {"cpus_per_task": s.cpus_per_task, "mem_gb": s.mem_gb}
    slurm = {
        "partition": s.partition,
        "account": s.account,
        "qos": s.qos,
        "constraint": s.constraint,
        # The chief resubmits a job that died: SLURM must not requeue it as well.
        "additional_parameters": {"no_requeue": True, **s.additional_parameters},
    }
    return {
        "name": name,
        "timeout_min": s.timeout_min,
        **({"gpus_per_node": s.gpus_per_node} if s.gpus_per_node else {}),
        "nodes": 1,
        "tasks_per_node": 1,
        "stderr_to_stdout": True,  # one log per job: the one the summary names
        **{k: v for k, v in given.items() if v is not None},
        **{f"slurm_{k}": v for k, v in slurm.items() if v is not None},
        "slurm_array_parallelism": d.workers,
        **({"slurm_setup": list(s.setup), "local_setup": list(s.setup)} if s.setup else {}),
    }


@dataclass
class SubmititWorker:
    """One worker as a submitit job; resubmitted (same tuner id) when it dies."""

    tuner_id: str
    command: WorkerCommand
    executor: object = field(repr=False)
    job: object = field(default=None, repr=False)
    logs: list[Path] = field(default_factory=list)
    deaths: int = 0
    finished: bool = False
    _done_at: float | None = field(default=None, repr=False)

    def took(self, job) -> None:
        self.job, self._done_at = job, None
        self.logs.append(Path(job.paths.stdout))

    def start(self) -> None:
        """Submit this worker alone again (its earlier job cancelled, if SLURM still holds it)."""
        self.cancel()
        self.took(self.executor.submit(self.command))

    @property
    def log_path(self) -> Path | None:
        return self.logs[-1] if self.logs else None

    @property
    def host(self) -> str | None:
        """Where its latest job ran, as that job's log says."""
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text().splitlines():
                if line.startswith(f"{WORKER_LINE} {self.tuner_id} on "):
                    return line.rsplit(" ", 1)[1]
        return None

    def ended(self) -> tuple[str, str] | None:
        """None while its job runs; else ("done", ""), ("error", why) or ("died", how)."""
        job = self.job
        # submitit counts a preempted job as unfinished; with --no-requeue it never runs again.
        if not job.done() and not str(job.state).upper().startswith("PREEMPTED"):
            return None
        if not job.paths.result_pickle.exists():  # killed with its worker: node lost, SIGKILL
            self._done_at = self._done_at or time.monotonic()
            if time.monotonic() - self._done_at < RESULT_GRACE_SECONDS:  # a slow shared disk
                return None
            if self.host is None:  # it never ran its worker: starting it again would not either
                return "error", (
                    f"its job {job.job_id} ended before the worker started (check "
                    f"distributed.slurm.setup and the Python on the nodes); {self._log_says()}"
                )
            return "died", f"its job {job.job_id} ended without a result"
        try:
            code = job.result()["code"]
        except Exception as exc:  # the job failed before the worker ran (python, src, cwd)
            return "error", f"its job {job.job_id} failed: {last_text_line(str(exc))}"
        return outcome(code, self.log_path)

    def _log_says(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return f"it wrote no log ({self.log_path})"
        return f"its log ends: {last_line(self.log_path)}"

    def cancel(self) -> None:
        """Cancel its job: the worker marks its trial KILLED (SIGTERM, passed on)."""
        if self.job is not None and not self.job.done():
            self.job.cancel(check=False)

    def gone(self) -> bool:
        global _checked  # one `sacct` call refreshes every job: at most one per 5 s
        force = time.monotonic() - _checked > 5
        _checked = time.monotonic() if force else _checked
        return self.job is None or self.job.done(force_check=force)

    def kill(self) -> None:
        """Nothing more to do: SLURM kills a cancelled job after its KillWait."""


def submit(
    d: DistributedConfig, folder: Path, name: str, commands: list[WorkerCommand]
) -> list[SubmititWorker]:
    """Submit the workers as one job array (SLURM) or one job each (submitit's local executor)."""
    import submitit

    cluster = "slurm" if d.launcher == "submitit_slurm" else "local"
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**parameters(d, name))
    workers = [SubmititWorker(c.tuner_id, c, executor) for c in commands]
    with executor.batch():
        jobs = [executor.submit(c) for c in commands]
    for worker, job in zip(workers, jobs, strict=True):
        worker.took(job)
    log.info(
        "%s: submitted %d worker job(s): %s", name, len(jobs), ", ".join(j.job_id for j in jobs)
    )
    return workers
