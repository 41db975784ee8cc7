"""Where a search keeps its keras-tuner state, keyed by everything that defines the search.

Rerunning a command resumes its own search; changing the data, loss, space, tuner, budget or
tracking store gives a different key and so a fresh folder, never someone else's stale state.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from src.tracking import store_dir

# Settings that change what a search finds. Where the data came from is not among them: every
# source is checked against the same content checksums.
_DATA_KEYS = ("name", "limit", "val_fraction")
_TRAIN_KEYS = ("epochs", "batch_size", "seed")


def search_definition(cfg: DictConfig) -> dict:
    """The parts of the config that define the search, as plain data."""
    container = OmegaConf.to_container(cfg, resolve=True)
    tuner = {k: v for k, v in container["tuner"].items() if k != "dir"}
    return {
        "data": {k: container["data"][k] for k in _DATA_KEYS},
        "loss": container["loss"]["name"],
        "search": container["search"],
        "tuner": tuner,
        "train": {k: container["train"][k] for k in _TRAIN_KEYS},
        "tracking": {
            "uri": container["tracking"]["uri"],
            "experiment": container["tracking"]["experiment"],
        },
    }


def search_key(cfg: DictConfig) -> str:
    """A short, stable hash of `search_definition`."""
    text = json.dumps(search_definition(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tuner_root(cfg: DictConfig) -> Path:
    """`tuner.dir`, else `<store>/tuner` for a SQLite store, else `./tuner`."""
    if cfg.tuner.dir:
        return Path(cfg.tuner.dir).expanduser().resolve()
    folder = store_dir(cfg.tracking.uri)
    return (folder / "tuner") if folder is not None else Path("tuner").resolve()


def project_name(cfg: DictConfig, key: str) -> str:
    return f"{cfg.data.name}-{cfg.loss.name}-{cfg.tuner.name}-{key}"


def has_state(root: Path, project: str) -> bool:
    return (root / project / "oracle.json").is_file()
