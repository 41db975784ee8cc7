"""The door of every job: its config checked once and typed, its store reached, its data found.

`check` turns Hydra's composed `DictConfig` into a `Plan`: the typed config (the schema's
dataclasses, Enums for closed choices), the parsed search space and the model family. Nothing
past the door sees the `DictConfig`. Bad input is refused here, in one line naming the field,
before anything is written. In a multirun, the project's sweeper (hydra_plugins/softmax_sweep)
runs it for every job before launching the first, so `-m train.epochs=3,-1` is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf, open_dict

from src import config, data
from src.config.schema import Config
from src.model import family_class, searchable
from src.search import gpus, oracle_auth, submitit_workers
from src.search.distributed import parse_address
from src.search.space import Space, parse_space
from src.tracking import check_reachable, check_write_access, refuse_secret_in_uri


@dataclass(frozen=True)
class Plan:
    """A job's config, checked and typed, with its parsed search space and model family."""

    cfg: Config
    space: Space
    family: type


def plan(cfg: DictConfig) -> Plan:
    """Validate `cfg` and type it; raises a UserError naming the field. Touches nothing."""
    if cfg.tracking.enabled:  # first: every later message may name the URI
        refuse_secret_in_uri(str(cfg.tracking.uri))
    config.validate(cfg)
    if cfg.distributed.launcher == "submitit_slurm":  # the chief's checks, and off loopback
        submitit_workers.check_address(cfg.distributed)
    elif cfg.distributed.role in ("chief", "worker"):
        host, _ = parse_address(cfg.distributed.chief)
        oracle_auth.check(cfg.distributed, host)
    family = family_class(cfg.model._target_)
    search = OmegaConf.to_container(cfg.search, resolve=True)
    space = parse_space(search, searchable(family, cfg.model.name))
    if "hydra" in cfg:  # a sweeper checks a job's config with Hydra's own settings in it
        cfg = cfg.copy()
        with open_dict(cfg):
            del cfg["hydra"]
    typed = OmegaConf.to_object(cfg)
    if devices := gpus.resolve(typed.distributed):  # one local worker per GPU
        typed.distributed.gpus, typed.distributed.workers = devices, len(devices)
    return Plan(typed, space, family)


def check(cfg: DictConfig) -> Plan:
    """`plan`, plus the tracking store reached (and, on an authenticated server, this login's
    write permission) and the data found; writes nothing to the store."""
    job = plan(cfg)
    typed = job.cfg
    if typed.tracking.enabled:
        check_reachable(typed.tracking.uri)
        if typed.tracking.uri.startswith(("http://", "https://")):
            check_write_access(typed.tracking.uri, typed.tracking.experiment)
    submitit_workers.check_available(typed.distributed.launcher)
    d = typed.data
    data.ensure_available(d.name, d.dir, d.system_dir, d.url)
    return job
