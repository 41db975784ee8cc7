"""Facts about the Hydra job running a search that are not part of its config."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from omegaconf import DictConfig

if TYPE_CHECKING:  # TensorFlow loads only once a job runs: refusing bad input stays fast
    pass


SWEEP_ID_ENV = "SWEEP_ID"
# The entry process's pid: a job running in another process is in a launcher's worker.


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


def fixed_params(cfg: DictConfig) -> dict:
    """The job's settings every trial shares, logged on every trial run for comparison."""
    return {
        "loss": cfg.loss.name,
        "model": cfg.model.name,
        "data": cfg.data.name,
        "data_limit": cfg.data.limit or "all",
        "tuner": cfg.tuner.name,
        "epochs": cfg.train.epochs,
        "seed": cfg.train.seed,
    }
