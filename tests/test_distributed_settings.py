"""Distributed settings are checked before anything starts (a unit: no process, no training)."""

import os
import shutil

import pytest
from helpers import compose, self_signed_certificate

from src import cli
from src.job.preflight import plan
from src.search import submitit_workers
from src.search.worker_job import WorkerCommand


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


SLURM = (
    "distributed.launcher=submitit_slurm",
    "distributed.workers=2",
    "tracking=server",
    "tracking.uri=https://mlflow.example:5000",
)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["distributed.launcher=submitit_local"], "distributed.workers"),  # nothing to submit
        (["distributed.launcher=pbs", "distributed.workers=2"], "distributed.launcher"),
        (
            [
                "distributed.launcher=submitit_local",
                "distributed.role=worker",
                "distributed.chief=h:1",
            ],
            "distributed.launcher",
        ),
        (["distributed.launcher=submitit_local", "distributed.gpus=[0,1]"], "distributed.gpus"),
        (
            [
                "distributed.launcher=submitit_local",
                "distributed.workers=1",
                "distributed.slurm.timeout_min=0",
            ],
            "distributed.slurm.timeout_min",
        ),
        (SLURM, "distributed.chief: distributed.launcher=submitit_slurm needs the chief's address"),
        (
            [*SLURM[:2], "distributed.chief=login1:8470"],  # the local store: not on the nodes
            "tracking.uri: distributed.launcher=submitit_slurm: workers on other nodes",
        ),
        ([*SLURM, "distributed.chief=127.0.0.1:8470"], "distributed.chief: 127.0.0.1 is this"),
        ([*SLURM, "distributed.chief=login1:8470"], "distributed.tls_cert"),  # token, no TLS
        (["distributed.slurm.partition=gpu"], "distributed.slurm: is read by"),  # no launcher
        (
            [
                "distributed.launcher=submitit_local",
                "distributed.workers=1",
                "distributed.chief_timeout=0",
            ],
            "distributed.chief_timeout",
        ),
        (
            [
                "distributed.launcher=submitit_local",
                "distributed.workers=1",
                "+distributed.slurm.additional_parameters.output=x.log",  # where the logs are
            ],
            "distributed.slurm.additional_parameters: output is set by the sweep",
        ),
    ],
)
def test_a_launcher_that_cannot_reach_its_workers_is_refused(overrides, field, monkeypatch):
    monkeypatch.setenv("SWEEP_ORACLE_TOKEN", "a-shared-token")
    with pytest.raises(Exception) as err:
        plan(compose(*overrides))
    message = cli.one_line(err.value)
    assert message.startswith(field) and "\n" not in message, message


def test_submitit_slurm_needs_the_shared_token(monkeypatch):
    monkeypatch.delenv("SWEEP_ORACLE_TOKEN", raising=False)
    with pytest.raises(Exception) as err:
        plan(compose(*SLURM, "distributed.chief=login1:8470"))
    assert "the oracle port needs a shared token" in cli.one_line(err.value)


def fake_slurm(folder, monkeypatch):
    """SLURM's commands as far as submitting goes: `sbatch` keeps the script it is given and
    answers with a job id, as SLURM's does. Nothing runs: this machine has no cluster."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    scripts = {
        "sbatch": f'#!/bin/sh\ncp "$1" {folder}/sbatch.sh\necho "Submitted batch job 4242"\n',
        **{name: "#!/bin/sh\nexit 1\n" for name in ("srun", "sacct", "scancel")},
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return folder / "sbatch.sh"


def test_submitit_slurm_submits_the_workers_as_one_job_array(tmp_path, monkeypatch):
    """The SLURM side, as far as this machine can go: submitit writes the job array's sbatch
    script from distributed.slurm.* and reads back the job ids and log paths the chief names."""
    if not shutil.which("sbatch"):  # this machine has no SLURM
        with pytest.raises(Exception) as err:
            submitit_workers.check_available("submitit_slurm")
        message = cli.one_line(err.value)
        assert message.startswith("distributed.launcher=submitit_slurm: no sbatch, srun, sacct")
    script = fake_slurm(tmp_path, monkeypatch)
    submitit_workers.check_available("submitit_slurm")
    monkeypatch.setenv("SWEEP_ORACLE_TOKEN", "a-shared-token")
    cert, key = self_signed_certificate(tmp_path)
    d = plan(
        compose(
            *SLURM,
            "distributed.chief=login1:8470",
            f"distributed.tls_cert={cert}",
            f"distributed.tls_key={key}",
            "distributed.slurm.partition=gpu",
            "distributed.slurm.timeout_min=30",
            "distributed.slurm.cpus_per_task=4",
            "distributed.slurm.mem_gb=8",
            "distributed.slurm.gpus_per_node=1",
            "distributed.slurm.setup=[module load cuda]",
        )
    ).cfg.distributed
    commands = [
        WorkerCommand(f"worker-{i}", ["true"], str(tmp_path), {}, "login1:8470", 60)
        for i in range(2)
    ]
    workers = submitit_workers.submit(d, tmp_path / "submitit", "job-0", commands)

    text = script.read_text()
    for line in (
        "#SBATCH --array=0-1%2",  # one array, both at once
        "#SBATCH --partition=gpu",
        "#SBATCH --time=30",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8GB",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --job-name=job-0",
        "#SBATCH --no-requeue",  # the chief resubmits a worker that dies, SLURM must not
        "module load cuda",
    ):
        assert line in text, text
    assert [w.job.job_id for w in workers] == ["4242_0", "4242_1"]
    assert [w.log_path for w in workers] == [
        tmp_path / "submitit" / f"4242_{i}_0_log.out" for i in range(2)
    ]


def test_a_cpu_worker_asks_slurm_for_no_gpu_option():
    """Some sites refuse `--gpus-per-node=0`: without GPUs the option is left out."""
    d = plan(compose()).cfg.distributed
    assert "gpus_per_node" not in submitit_workers.parameters(d, "job-0")
