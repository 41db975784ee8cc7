"""One Hydra job: its context, its checks, its search (`run`) and a distributed worker's role."""

from src.job.context import JobContext, new_sweep_id
from src.job.run import run_job

__all__ = ["JobContext", "new_sweep_id", "run_job"]
