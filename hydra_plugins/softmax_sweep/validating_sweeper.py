"""A sweeper that refuses a multirun whole when any of its jobs could not run, and closes it with
the summary of every job's outcome.

Hydra composes each job only as it launches it, and Hydra callbacks cannot stop a sweep (their
exceptions become warnings), so `-m train.epochs=3,-1` would train the first job before the
second fails. This sweeper checks every job's config, tracking store and data first; the first
problem is reported in one line and nothing is written. Then it launches the jobs as Hydra's
basic sweeper does (the cartesian product of the `-m` values and `hydra.sweeper.params`, in
batches of `max_batch_size`), and prints the closing summary from the outcomes the jobs return
(src/reporting/status.py).

Built on Hydra's public plugin API only (`Sweeper`, `Plugins`, the overrides parser): Hydra's
`BasicSweeper` is internal (`hydra._internal`), so it is not subclassed.
"""

# No `from __future__ import annotations`: Hydra's plugin scan executes this module without
# registering it in sys.modules, where dataclasses would look string annotations up.
import contextlib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf


@dataclass
class ValidatingSweeperConf:
    _target_: str = "hydra_plugins.softmax_sweep.validating_sweeper.ValidatingSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="validating", node=ValidatingSweeperConf, provider="softmax_sweep"
)


class ValidatingSweeper(Sweeper):
    def __init__(self, max_batch_size=None, params=None) -> None:
        self.max_batch_size = max_batch_size
        self.params = dict(params or {})
        self.hydra_context = None
        self.config = None
        self.launcher = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def jobs(self, arguments: list[str]) -> list[list[str]]:
        """Every job's overrides: the cartesian product of the swept values, in Hydra's order."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        choices = {}  # a later override of a key replaces an earlier one, as in Hydra
        for override in parser.parse_overrides([*params, *arguments]):
            key = override.get_key_element()
            if not override.is_sweep_override():
                choices[key] = [f"{key}={override.get_value_element_as_str()}"]
            elif override.is_discrete_sweep():
                choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
            else:
                raise HydraException(
                    f"{key}: {override.value_type.name} sweeps are not supported; list the "
                    "values (a,b,c) or use range(start,stop,step)"
                )
        return [list(job) for job in itertools.product(*choices.values())]

    def sweep(self, arguments: list[str]) -> Any:
        from src.job import preflight
        from src.reporting import display, status, summary
        from src.runtime import ahead, signals
        from src.tracking.shared import shared_tracking

        jobs = self.jobs(arguments)
        tracked = False
        for job in jobs:
            plan = preflight.check(
                self.hydra_context.config_loader.load_sweep_config(self.config, job)
            )
            tracked = tracked or plan.cfg.tracking.enabled
        if not tracked:
            ahead.end_unused()  # started by the entry point in case the jobs track
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper
        signals.clear_interrupted(sweep_dir)  # a rerun into the same folder starts its jobs
        display.start(self.config.progress).watch(sweep_dir)
        size = self.max_batch_size if self.max_batch_size and self.max_batch_size > 0 else None
        size = size or max(len(jobs), 1)
        returns = []
        # The jobs' tracking process: started before the relay, which passes signals on only to
        # the processes started after it (the launcher's); it ignores them, stores the closing
        # summary too, and ends last.
        with shared_tracking() if tracked else contextlib.nullcontext():
            with signals.relaying(sweep_dir):
                for first in range(0, len(jobs), size):
                    batch = jobs[first : first + size]
                    returns.append(self.launcher.launch(batch, initial_job_idx=first))
            unfinished = summary.finish(status.outcomes(returns))
        if unfinished:
            raise status.JobsUnfinished(unfinished)
        return returns
