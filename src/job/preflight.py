"""Checks that run before a job starts, so bad input is refused before anything is written.

`check` validates a job's config, reaches its tracking store and finds its data. Every job runs
it first; in a multirun, the project's sweeper (hydra_plugins/softmax_sweep) runs it for all
jobs before launching the first, so `-m train.epochs=3,-1` is refused whole.
"""

from __future__ import annotations

from omegaconf import DictConfig

from src import config, data
from src.tracking import check_reachable


def check(cfg: DictConfig) -> None:
    """Raise a UserError naming the field if `cfg` cannot run; writes nothing to the store."""
    config.validate(cfg)
    if cfg.tracking.enabled:
        check_reachable(cfg.tracking.uri)
    d = cfg.data
    data.ensure_available(d.name, d.dir, d.system_dir, d.url)
