"""Distributed settings are checked before anything starts (a unit: no process, no training)."""

import pytest
from helpers import compose

from src import cli
from src.job.preflight import plan


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["distributed.role=worker"], "distributed.chief"),
        (["distributed.role=worker", "distributed.chief=nohost"], "distributed.chief"),
        (["distributed.role=boss"], "distributed.role"),
        (["distributed.workers=-1"], "distributed.workers"),
    ],
)
def test_bad_distributed_settings_are_refused(overrides, field):
    with pytest.raises(Exception) as err:  # a closed choice is refused as Hydra composes
        plan(compose(*overrides))
    assert cli.one_line(err.value).startswith(field)
