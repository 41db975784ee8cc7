"""Facts about the Hydra job running a search that are not part of its config, and how the
processes of one sweep share them.

A sweep's processes: the entry process (`python -m src.sweep`, Hydra's sweeper runs in it), the
launcher's workers running the jobs of a multirun (hydra-joblib-launcher: loky processes), and a
distributed job's local workers (`python -m src.sweep ... distributed.role=worker`, started by
the job's process, its chief). What passes between them, all of it:

- a job's outcome, to the entry process: the task function's return value, which Hydra hands
  to the sweeper (`JobOutcome`, src/reporting/outcome.py; src/reporting/status.py);
- Ctrl-C / SIGTERM: the entry process passes the signal on to the launcher's workers
  (src/runtime/signals.py), and marks the sweep folder so queued jobs do not start
  (`.interrupted`, src/runtime/signals.py: the one file read across processes);
- environment variables, inherited by the processes a process starts:
  `SWEEP_ID` (here; named in src/runtime/ahead.py): the invocation's sweep id, decided once by the entry process, tagged on
  every job run (set it to choose the id); `SWEEP_JOB_RUN_ID` and `SWEEP_CHIEF_PID`
  (src/search/distributed.py): from a local chief to its workers, the job run to record trials
  under, and the process whose end stops them; keras-tuner's own `KERASTUNER_TUNER_ID`,
  `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`, set by a worker for itself.

Module state, each process its own: the signal received, the sweep it is passed on for and
whether a job trains here (src/runtime/signals.py); the progress display of the entry process
(src/search/progress.py).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field

from src.config.schema import Config
from src.model import precision
from src.runtime.ahead import SWEEP_ID_ENV

# Imported inside functions: Hydra's runtime config is read only inside a Hydra job.

# Settings that say where things go rather than what is searched: left out of run names.
_NAME_EXCLUDED = (
    "tracking.",
    "distributed.",
    "data.dir",
    "tuner.dir",
    "train.resume",
    "sweep=",
    "hydra.",
    "progress=",
    "study.",  # what is done after the search (repeats), not what a job searches
    "export.",  # read by `python -m src.export` only
)


def new_sweep_id() -> str:
    """Sortable and readable: the start time plus a random suffix against collisions."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class JobContext:
    """Facts about the Hydra job running a search (none of them part of the config)."""

    overrides: tuple[str, ...] = ()
    sweep_id: str = field(default_factory=lambda: os.environ.get(SWEEP_ID_ENV) or new_sweep_id())
    # Hydra's output folder for the job: its log, and its progress file for the display.
    output_dir: str | None = None

    @property
    def name(self) -> str:
        shown = [o for o in self.overrides if not o.lstrip("+~").startswith(_NAME_EXCLUDED)]
        return ",".join(shown) or "defaults"

    @classmethod
    def from_hydra(cls) -> JobContext:
        from hydra.core.hydra_config import HydraConfig

        hydra_cfg = HydraConfig.get()
        return cls(
            overrides=tuple(hydra_cfg.overrides.task), output_dir=hydra_cfg.runtime.output_dir
        )


def fixed_params(cfg: Config) -> dict:
    """The job's settings every trial shares, logged on every trial run for comparison."""
    return {
        "loss": cfg.loss.name,
        "model": cfg.model.name,
        "data": cfg.data.name,
        "data_limit": cfg.data.limit or "all",
        "tuner": cfg.tuner.name,
        "epochs": cfg.train.epochs,
        "seed": cfg.train.seed,
        # What the layers computed in (auto resolved on the machine that trains).
        "precision": precision.resolve(cfg.train.precision, onednn=cfg.train.onednn),
    }
