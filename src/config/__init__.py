"""The sweep's config: typed schemas registered with Hydra (`schema`) and the one start-up
validation step (`checks`)."""

from src.config.checks import validate
from src.config.schema import ROOT, SWEEPS_DIR, register_configs
from src.errors import ConfigError

__all__ = ["ROOT", "SWEEPS_DIR", "ConfigError", "register_configs", "validate"]
