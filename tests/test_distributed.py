"""keras-tuner's distributed mode on loopback: a chief, real worker processes, one MLflow store."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from helpers import (
    ROOT,
    TINY,
    assert_each_trial_once,
    job_and_trial_runs,
    mlflow_client,
    read_store,
    run_cli,
    run_tiny_headline,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_multirun_with_two_workers_per_job_logs_every_trial_once(store, tmp_path):
    """Each job's two local workers, one per GPU (distributed.gpus=[3,5]): worker i sees the
    i-th device alone and tags its trial runs with it. This machine has no GPU: TensorFlow's
    CPU build ignores the devices, so the assignment is checked, not training on a GPU."""
    run_tiny_headline(store, tmp_path, "tuner.max_trials=4", "distributed.gpus=[3,5]")
    jobs, trials = job_and_trial_runs(store)
    assert len(jobs) == 2 and all(j.info.status == "FINISHED" for j in jobs)
    assert {(j.data.tags["gpus"], j.data.tags["workers"]) for j in jobs} == {("3,5", "2")}
    device = {"worker-0": "3", "worker-1": "5"}
    assert {(t.data.tags["tuner_id"], t.data.tags["gpu"]) for t in trials} == set(device.items())
    # Each job its own chief: different ports.
    assert len({j.data.tags["oracle_address"] for j in jobs}) == 2
    for job in jobs:
        children = [t for t in trials if t.data.tags["mlflow.parentRunId"] == job.info.run_id]
        assert_each_trial_once(children, 4)
        assert {t.data.tags["tuner_id"] for t in children} == {"worker-0", "worker-1"}
        assert 0.3 < job.data.metrics["test_accuracy"] <= 1
        assert {t.data.params["loss"] for t in children} == {job.data.params["loss"]}


def test_a_time_budget_with_workers_stops_starting_trials(store, tmp_path):
    """tuner.max_minutes holds for the whole search: once it has passed, the chief's oracle
    starts no trial (the first always starts), the workers are told to stop, and the job ends
    FINISHED, tagged and summarised as stopped by its budget. Both workers start after this
    budget of 0.06 s (each imports TensorFlow first): only the first trial runs."""
    result = run_cli(
        "src.sweep",
        *TINY[:2],
        "tuner.max_trials=30",
        "tuner.max_minutes=0.001",
        "distributed.workers=2",
        f"tracking.uri={store}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (job,), trials = job_and_trial_runs(store)
    assert job.info.status == "FINISHED" and job.data.tags["stopped_by"] == "time_budget"
    assert_each_trial_once(trials, 1)
    assert "stopped by its time budget" in result.stdout + result.stderr


def sweep_process(store, tmp_path, *overrides):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "src.sweep",
            "data.limit=20000",
            "train.epochs=8",  # trials of several seconds: a kill lands mid-trial
            "tuner.max_trials=4",
            "search.hidden_units=256",
            f"tracking.uri={store}",
            f"hydra.run.dir={tmp_path / 'run'}",
            "progress=lines",
            *overrides,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def trial_in_epoch(store):
    """A RUNNING trial run that has logged at least one epoch, if there is one yet."""
    # Read raw until a run exists: opening a brand-new store with MLflow from here would race
    # the chief's tracking process creating its tables (MLflow creates them without a lock).
    if not read_store(store, "SELECT 1 FROM runs LIMIT 1"):
        return None
    _, trials = job_and_trial_runs(store)
    for trial in trials:
        if trial.info.status == "RUNNING" and mlflow_client(store).get_metric_history(
            trial.info.run_id, "val_accuracy"
        ):
            return trial
    return None


def wait_for_trial_in_epoch(store):
    return wait_until(lambda: trial_in_epoch(store), timeout=180, interval=0.5)


def worker_process(sweep: subprocess.Popen, tuner_id: str) -> psutil.Process:
    for child in psutil.Process(sweep.pid).children(recursive=True):
        if f"distributed.tuner_id={tuner_id}" in child.cmdline():
            return child
    raise AssertionError(f"no process for {tuner_id}")


def kill_a_worker_mid_trial(store, tmp_path, *overrides, whole_job=False):
    """Kill -9 a worker mid-trial (`whole_job`: with the submitit job running it, as when its
    node is lost): its replacement (the same tuner id) continues the trial in its run, from
    its last epoch, and every trial ends once. Returns the victim and stderr."""
    sweep = sweep_process(store, tmp_path, "distributed.workers=2", *overrides)
    try:
        victim = wait_for_trial_in_epoch(store)
        tuner_id = victim.data.tags["tuner_id"]
        worker = worker_process(sweep, tuner_id)
        for process in [worker.parent(), worker] if whole_job else [worker]:
            process.send_signal(signal.SIGKILL)
        stdout, stderr = sweep.communicate(timeout=300)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, stderr[-3000:]
    how = "its job " if whole_job else "signal 9)"
    assert f"{tuner_id} died ({how}" in stdout + stderr
    _, trials = job_and_trial_runs(store)
    assert_each_trial_once(trials, 4)
    (again,) = [t for t in trials if t.data.tags["trial_id"] == victim.data.tags["trial_id"]]
    assert again.info.run_id == victim.info.run_id and again.info.status == "FINISHED"
    assert again.data.tags["tuner_id"] == tuner_id and again.data.tags["crashes"] == "1"
    assert int(again.data.tags["resumed_from_epoch"]) >= 1
    return victim, stderr


def test_a_worker_killed_mid_trial_is_replaced_and_its_trial_continues(store, tmp_path):
    kill_a_worker_mid_trial(store, tmp_path)


def test_a_worker_that_cannot_be_replaced_fails_the_job_with_the_reason(store, tmp_path):
    sweep = sweep_process(
        store, tmp_path, "distributed.workers=2", "distributed.max_worker_restarts=0"
    )
    try:
        victim = wait_for_trial_in_epoch(store)
        worker_process(sweep, victim.data.tags["tuner_id"]).send_signal(signal.SIGKILL)
        _, stderr = sweep.communicate(timeout=180)
    finally:
        sweep.kill()
    assert sweep.returncode == 1
    line = stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: distributed: {victim.data.tags['tuner_id']} died 1 times")
    assert "distributed.max_worker_restarts=0" in line
    jobs, trials = job_and_trial_runs(store)
    assert jobs[0].info.status == "FAILED"
    assert not [r for r in [*jobs, *trials] if r.info.status == "RUNNING"]  # all closed


def test_the_chief_killed_and_restarted_resumes_the_search(store, tmp_path):
    sweep = sweep_process(store, tmp_path, "distributed.workers=2")
    try:
        wait_for_trial_in_epoch(store)
        workers = [worker_process(sweep, f"worker-{i}") for i in range(2)]
        sweep.send_signal(signal.SIGKILL)  # the chief, as by the OOM killer
        sweep.wait(timeout=30)
        _gone, alive = psutil.wait_procs(workers, timeout=90)  # they notice and stop
        assert not alive
    finally:
        sweep.kill()
    jobs, trials = job_and_trial_runs(store)
    assert [t for t in trials if t.info.status == "KILLED"]  # the workers closed their runs
    done_before = {t.data.tags["trial_id"] for t in trials if t.info.status == "FINISHED"}

    again = sweep_process(store, tmp_path, "distributed.workers=2")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr[-3000:]
    jobs_after, trials = job_and_trial_runs(store)
    assert [j.info.run_id for j in jobs_after] == [jobs[0].info.run_id]  # resumed, not a new job
    assert_each_trial_once(trials, 4)
    for trial_id in done_before:  # completed trials were not trained again
        assert sum(t.data.tags["trial_id"] == trial_id for t in trials) == 1


def test_a_worker_without_its_chief_says_so(store, tmp_path):
    result = run_cli(
        "src.sweep",
        *TINY,
        f"tracking.uri={store}",
        "distributed.role=worker",
        "distributed.chief=127.0.0.1:9",
        "distributed.wait_for_chief=1",
        f"hydra.run.dir={tmp_path / 'run'}",
        env={"SWEEP_ORACLE_TOKEN": "a-token-shared-with-the-chief"},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: distributed: no running job")


def test_submitit_workers_share_the_search_and_a_killed_one_is_resubmitted(store, tmp_path):
    """distributed.launcher=submitit_local: the two workers are submitit jobs (its local
    executor; submitit_slurm submits the same as one SLURM job array). One's job is killed
    mid-trial, worker and all, leaving no result: the chief submits it again with its tuner id,
    and its trial finishes once, in its run. The closing summary names each worker's host and
    submitit log."""
    victim, stderr = kill_a_worker_mid_trial(
        store, tmp_path, "distributed.launcher=submitit_local", whole_job=True
    )
    tuner_id = victim.data.tags["tuner_id"]
    (job,), trials = job_and_trial_runs(store)
    assert {t.data.tags["tuner_id"] for t in trials} == {"worker-0", "worker-1"}

    # The summary: "- worker-0 on HOST[, restarted 1x], log PATH", its log submitit's.
    named = re.findall(r"^- (worker-\d) on (\S+?)(, restarted 1x)?, log (\S+)$", stderr, re.M)
    assert sorted(w[0] for w in named) == ["worker-0", "worker-1"], stderr[-3000:]
    folder = tmp_path / "run" / "workers" / "submitit"
    for worker, host, restarted, log in named:
        assert bool(restarted) == (worker == tuner_id)
        text = Path(log).read_text()
        assert Path(log).parent == folder and f"sweep-worker: {worker} on {host}" in text
        assert f"{worker}: the chief has no more trials" in text  # the resubmitted job's
    client = mlflow_client(store)
    summary = Path(client.download_artifacts(job.info.run_id, "summary.md")).read_text()
    assert all(f"- {w} on {h}" in summary for w, h, _, _ in named)  # the run's summary too
    recorded = json.loads(
        Path(client.download_artifacts(job.info.run_id, "workers.json")).read_text()
    )
    (killed,) = [w for w in recorded if w["tuner_id"] == tuner_id]
    (first,) = killed["earlier_logs"]  # the killed job's log: where it was working
    assert f"sweep-worker: {tuner_id} on" in Path(first).read_text()


def test_ctrl_c_on_the_chief_cancels_its_submitit_workers(store, tmp_path):
    """Ctrl-C on the chief alone (not its process group: as SLURM's jobs would not get it)
    cancels the worker jobs; each closes its trial's run KILLED, and nothing is left running."""
    sweep = sweep_process(
        store, tmp_path, "distributed.workers=2", "distributed.launcher=submitit_local"
    )
    try:
        wait_for_trial_in_epoch(store)
        descendants = psutil.Process(sweep.pid).children(recursive=True)
        sweep.send_signal(signal.SIGINT)
        _, stderr = sweep.communicate(timeout=120)
    finally:
        sweep.kill()
    assert sweep.returncode == 130, stderr[-3000:]
    _, alive = psutil.wait_procs(descendants, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    jobs, trials = job_and_trial_runs(store)
    assert [j.info.status for j in jobs] == ["KILLED"]
    assert "KILLED" in {t.info.status for t in trials}
    assert not [r for r in [*jobs, *trials] if r.info.status == "RUNNING"]


def test_submitit_workers_stop_when_their_chief_is_gone(store, tmp_path):
    """kill -9 of the chief (or its login session lost): keras-tuner's client would wait for it
    forever, holding the node. Each submitit job stops its worker once the chief has been out
    of reach for distributed.chief_timeout seconds; the worker marks its trial KILLED."""
    sweep = sweep_process(
        store,
        tmp_path,
        "distributed.workers=2",
        "distributed.launcher=submitit_local",
        "distributed.chief_timeout=3",
    )
    try:
        wait_for_trial_in_epoch(store)
        workers = [worker_process(sweep, f"worker-{i}") for i in range(2)]
        sweep.send_signal(signal.SIGKILL)
        sweep.wait(timeout=30)
    finally:
        sweep.kill()
    _, alive = psutil.wait_procs(workers, timeout=60)
    assert not alive, [p.cmdline() for p in alive]
    logs = list((tmp_path / "run" / "workers" / "submitit").glob("*_log.out"))
    assert all("is gone; stopping" in log.read_text() for log in logs), logs
    _, trials = job_and_trial_runs(store)
    assert "KILLED" in {t.info.status for t in trials}
    assert not [t for t in trials if t.info.status == "RUNNING"]
