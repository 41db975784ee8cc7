"""SLURM through Hydra's submitit launcher, tested with its local twin: `submitit_local` starts
each job as its own process through submitit, as `submitit_slurm` submits each as a SLURM job."""

import pytest
from helpers import job_and_trial_runs, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def test_submitit_records_both_jobs_and_reports_a_failed_one_like_any_other(store, tmp_path):
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher",
        reason="the slurm extra is not installed: `make test` installs it (pip install -e '.[dev]')",
    )
    result = run_cli(
        "src.sweep",
        "-m",
        "hydra/launcher=submitit_local",
        "search.learning_rate=1e30,0.01",  # the first diverges: its only trial fails
        "search.optimizer=sgd",
        "tuner.max_trials=1",
        "tuner.max_consecutive_failed_trials=1",
        "data.limit=300",
        "train.epochs=1",
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    summary = result.stderr[result.stderr.index("sweep: 2 job(s), 1 failed, 0 interrupted") :]
    assert "FAILED    stopped after 1 trials failed in a row" in summary
    assert "FINISHED  best val_accuracy" in summary

    jobs, trials = job_and_trial_runs(store)
    assert sorted(j.info.status for j in jobs) == ["FAILED", "FINISHED"]
    assert len({j.data.tags["sweep_id"] for j in jobs}) == 1  # one sweep across the processes
    for job in jobs:
        own = [t for t in trials if t.data.tags["mlflow.parentRunId"] == job.info.run_id]
        assert [t.info.status for t in own] == [job.info.status]  # its one trial, recorded
    failed = next(t for t in trials if t.info.status == "FAILED")
    assert "NaN" in failed.data.tags["error"]
    # Each job ran in a process submitit started, with its log where submitit keeps them.
    assert len(list((tmp_path / "multirun" / ".submitit").glob("*/*_log.out"))) == 2
