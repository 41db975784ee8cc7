"""Distributed settings are checked before anything starts (a unit: no process, no training)."""

import pytest
from helpers import compose

from src.config import ConfigError
from src.errors import DistributedError


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
    from src import config

    with pytest.raises((ConfigError, DistributedError), match=field):
        config.validate(compose(*overrides))
