"""The project's config composed from `conf/` by Hydra, for code that is not a Hydra app (the
commands beside the sweep, the Python API, the refit of a model family)."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from src.config.schema import ROOT

# Imported inside functions: Hydra loads where a config is composed.


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The project's config with `overrides`."""
    from hydra import compose as hydra_compose  # Hydra: only where a config is composed
    from hydra import initialize_config_dir

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))
