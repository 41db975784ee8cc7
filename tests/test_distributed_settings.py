"""Distributed settings are checked before anything starts (a unit: no process, no training)."""

import shutil

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


@pytest.mark.parametrize(
    ("overrides", "devices"),
    [
        (["distributed.gpus=[3,5]"], ["3", "5"]),  # a worker per GPU
        (["distributed.gpus=[0,1,2]", "distributed.workers=2"], ["0", "1"]),  # fewer workers
        ([], None),
    ],
)
def test_each_local_worker_gets_one_gpu(overrides, devices):
    d = plan(compose(*overrides)).cfg.distributed
    assert d.gpus == devices
    assert d.workers == (len(devices) if devices else 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["distributed.gpus=[0,1]", "distributed.workers=3"], "distributed.workers: 3 workers"),
        (["distributed.gpus=[0,0]"], "distributed.gpus"),
        (["distributed.gpus=[-1]"], "distributed.gpus"),
        (["distributed.gpus=abc"], "distributed.gpus"),
        (
            ["distributed.gpus=[0]", "distributed.role=worker", "distributed.chief=h:1"],
            "distributed.gpus",
        ),
    ],
)
def test_gpus_that_cannot_be_assigned_are_refused(overrides, field):
    with pytest.raises(Exception) as err:
        plan(compose(*overrides))
    message = cli.one_line(err.value)
    assert message.startswith(field) and "\n" not in message, message


@pytest.mark.skipif(bool(shutil.which("nvidia-smi")), reason="this machine has GPUs")
def test_all_gpus_on_a_machine_without_any_is_refused():
    with pytest.raises(Exception) as err:
        plan(compose("distributed.gpus=all"))
    assert cli.one_line(err.value).startswith("distributed.gpus: all, but nvidia-smi lists no GPU")
