"""Hydra's basic sweeper, refusing a multirun whole when any of its jobs could not run.

Hydra composes each job only as it launches it, and Hydra callbacks cannot stop a sweep (their
exceptions become warnings), so `-m train.epochs=3,-1` would train the first job before the
second fails. This sweeper checks every job's config, tracking store and data first; the first
problem is reported in one line and nothing is written.
"""

# No `from __future__ import annotations`: Hydra's plugin scan executes this module without
# registering it in sys.modules, where dataclasses would look string annotations up.
from dataclasses import dataclass
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser


@dataclass
class ValidatingSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.softmax_sweep.validating_sweeper.ValidatingSweeper"


ConfigStore.instance().store(
    group="hydra/sweeper", name="validating", node=ValidatingSweeperConf, provider="softmax_sweep"
)


class ValidatingSweeper(BasicSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        from src.job import preflight
        from src.reporting import progress, status

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        for batch in self.split_arguments(overrides, None):
            for job in batch:
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
                preflight.check(cfg)
        status.start_sweep(self.config.hydra.sweep.dir)
        progress.start(self.config.progress).watch(self.config.hydra.sweep.dir)
        return super().sweep(arguments)
