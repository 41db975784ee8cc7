"""distributed.launcher=submitit_slurm end to end on one machine: SLURM's commands are stood in
for (tests/slurm_standin.py runs each array task here, in a session of its own), everything else
is real: submitit's SLURM executor, the chief on this machine's network address over TLS with a
token file, the workers finding it there, and a tracking server."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import slurm_standin
from helpers import (
    ROOT,
    TINY,
    assert_each_trial_once,
    job_and_trial_runs,
    lan_address,
    run_cli,
    self_signed_certificate,
    wait_until,
)
from test_async_tracking import mlflow_server

from src.runtime import processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def cluster(tmp_path) -> tuple[str, dict, list[str]]:
    """The stand-in SLURM on PATH, a token file, and a certificate for this machine's network
    address: the chief's address, environment and overrides."""
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    bin_dir = slurm_standin.install(tmp_path)
    cert, key = self_signed_certificate(tmp_path, address)
    token = tmp_path / "oracle.token"
    token.write_text("a-token-for-this-search\n")
    token.chmod(0o600)
    overrides = [
        "distributed.workers=2",
        "distributed.launcher=submitit_slurm",
        f"distributed.chief={address}:{processes.free_port()}",
        f"distributed.token_file={token}",
        f"distributed.tls_cert={cert}",
        f"distributed.tls_key={key}",
        "distributed.slurm.partition=cpu",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    return address, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, overrides


def test_workers_as_a_slurm_job_array_share_the_search(tmp_path):
    address, env, overrides = cluster(tmp_path)
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with mlflow_server(tmp_path, port):
        result = run_cli(
            "src.sweep",
            *TINY[:2],
            "tuner.max_trials=4",
            f"tracking.uri={url}",
            *overrides,
            env=env,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        (job,), trials = job_and_trial_runs(url)
    assert job.info.status == "FINISHED"
    assert_each_trial_once(trials, 4)
    assert {t.data.tags["tuner_id"] for t in trials} == {"worker-0", "worker-1"}
    # One array of two tasks (job 4200, tasks 4200_0 and 4200_1), each log where the summary says.
    named = re.findall(r"^- (worker-\d) on (\S+?), log (\S+)$", result.stderr, re.M)
    assert sorted(named) == [
        (
            f"worker-{i}",
            host,
            str(tmp_path / "run" / "workers" / "submitit" / f"4200_{i}_0_log.out"),
        )
        for i, host in enumerate([named[0][1]] * 2)
    ], result.stderr[-3000:]
    for worker, host, log in named:
        text = Path(log).read_text()
        assert f"sweep-worker: {worker} on {host}" in text
        assert f"{worker}: asking {address}:" in text  # over the network address, with TLS


def test_a_worker_job_cancelled_mid_trial_is_resubmitted_and_its_trial_continues(tmp_path):
    """As SLURM cancels or preempts a job: SIGTERM to every process of the array task. The
    worker marks its trial KILLED, the chief submits it again (a job of its own) with its tuner
    id, and the trial continues in its run from its last epoch; every trial ends once."""
    _, env, overrides = cluster(tmp_path)
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with mlflow_server(tmp_path, port):
        chief = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "src.sweep",
                "data.limit=20000",
                "train.epochs=8",  # trials of several seconds: the cancel lands mid-trial
                "tuner.max_trials=4",
                "search.hidden_units=256",
                f"tracking.uri={url}",
                *overrides,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            victim = wait_until(lambda: trial_in_epoch(url), timeout=180, interval=0.5)
            tuner_id = victim.data.tags["tuner_id"]
            task = f"4200_{tuner_id.split('-')[1]}"
            subprocess.run(["scancel", task], env={**os.environ, **env}, check=True)
            stdout, stderr = chief.communicate(timeout=300)
        finally:
            chief.kill()
        assert chief.returncode == 0, stderr[-3000:]
        _, trials = job_and_trial_runs(url)
    # It exits 143 after closing its trial's run; about one time in three the worker aborts in
    # native code while TensorFlow unwinds (glibc: "corrupted size vs. prev_size"), and the
    # chief marks the trial KILLED for it. Either way the trial continues below.
    assert re.search(rf"{tuner_id} died \((exit 143|signal 6)", stdout + stderr), stderr[-3000:]
    assert_each_trial_once(trials, 4)
    (again,) = [t for t in trials if t.data.tags["trial_id"] == victim.data.tags["trial_id"]]
    assert again.info.run_id == victim.info.run_id and again.info.status == "FINISHED"
    assert int(again.data.tags["resumed_from_epoch"]) >= 1
    # Its second job is a job of its own (4203: the array took 4200 to 4202), logged there.
    logs = tmp_path / "run" / "workers" / "submitit"
    line = next(x for x in stderr.splitlines() if x.startswith(f"- {tuner_id} on "))
    assert line.endswith(f"restarted 1x, log {logs / '4203_0_log.out'}"), line


def trial_in_epoch(url: str):
    """A RUNNING trial run that has logged an epoch, if there is one yet."""
    _, trials = job_and_trial_runs(url)
    running = [t for t in trials if t.info.status == "RUNNING"]
    return next((t for t in running if "val_accuracy" in t.data.metrics), None)
