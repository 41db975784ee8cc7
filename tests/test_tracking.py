"""The MLflow layer against a real SQLite store: run statuses tell the truth, runs nest."""

from pathlib import Path

import pytest
from helpers import mlflow_client

from src import tracking
from src.errors import TrackingError
from src.tracking import Tracker


@pytest.fixture
def tracker(store):
    return Tracker(store, "tests")


def test_store_is_one_folder(tracker, store):
    folder = tracking.store_dir(store)
    location = mlflow_client(store).get_experiment(tracker.experiment_id).artifact_location
    assert Path(location.removeprefix("file://")).is_relative_to(folder)


def test_job_and_trial_runs_nest_and_finish(tracker, store):
    with (
        tracker.job_run("loss=sparse", {"sweep_id": "s1"}, {"loss": "sparse"}) as job,
        tracker.trial_run(job, "03", {"hidden_units": 64, "learning_rate": 0.01}) as trial,
    ):
        tracker.log_metrics(trial, {"val_accuracy": 0.5, "loss": 1.0}, step=0)
        tracker.log_metrics(trial, {"val_accuracy": 0.7, "loss": 0.8}, step=1)
    client = mlflow_client(store)
    job_run, trial_run = client.get_run(job), client.get_run(trial)
    assert job_run.info.status == trial_run.info.status == "FINISHED"
    assert job_run.info.run_name == "loss=sparse" and job_run.data.tags["sweep_id"] == "s1"
    assert trial_run.data.tags["mlflow.parentRunId"] == job
    assert trial_run.data.tags["trial_id"] == "03"
    assert trial_run.data.params == {"hidden_units": "64", "learning_rate": "0.01"}
    history = client.get_metric_history(trial, "val_accuracy")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.7)]


def test_a_raising_trial_is_failed_with_its_reason(tracker, store):
    # The trial's error is caught inside the job's block: the job itself goes on and finishes.
    with (
        tracker.job_run("j", {}, {}) as job,
        pytest.raises(ValueError),
        tracker.trial_run(job, "0", {}) as trial,
    ):
        raise ValueError("bad combination")
    run = mlflow_client(store).get_run(trial)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "ValueError: bad combination"
    assert mlflow_client(store).get_run(job).info.status == "FINISHED"


def test_an_interrupted_run_is_killed_not_finished(tracker, store):
    with (
        pytest.raises(KeyboardInterrupt),
        tracker.job_run("j", {}, {}) as job,
        tracker.trial_run(job, "0", {}) as trial,
    ):
        raise KeyboardInterrupt
    client = mlflow_client(store)
    assert client.get_run(trial).info.status == "KILLED"
    assert client.get_run(job).info.status == "KILLED"


def test_resuming_a_job_reopens_its_run_and_kills_orphans(tracker, store):
    client = mlflow_client(store)
    with tracker.job_run("j", {"search_key": "abc"}, {"loss": "sparse"}) as job:
        orphan = client.create_run(
            tracker.experiment_id, tags={"mlflow.parentRunId": job, "trial_id": "1"}
        ).info.run_id  # a dead process's trial
    assert tracker.find_job_run("abc") == job
    assert tracker.find_job_run("other") is None
    with tracker.job_run("j", {"resumed": "yes"}, {}, resume_run_id=job) as again:
        assert again == job
        assert client.get_run(job).info.status == "RUNNING"
        assert tracker.close_orphans(job) == ["1"]
    assert client.get_run(orphan).info.status == "KILLED"
    assert client.get_run(job).info.status == "FINISHED"
    assert len(client.search_runs([tracker.experiment_id])) == 2  # no duplicate job run


def test_repeat_runs_nest_apart_from_trials_and_their_orphans_are_killed(tracker, store):
    client = mlflow_client(store)
    with tracker.job_run("j", {}, {}) as job:
        with tracker.trial_run(job, "0", {}) as trial:
            pass
        with tracker.repeat_run(job, 1000, {"hidden_units": 64}, {"repeat_of_trial": "0"}) as done:
            pass
        orphan = client.create_run(  # a dead process's repeat
            tracker.experiment_id,
            tags={"mlflow.parentRunId": job, "run_kind": "repeat", "seed": "1001"},
        ).info.run_id
        assert tracker.close_orphans(job) == []  # trials only
        assert tracker.close_orphans(job, kind="repeat") == ["1001"]
    run = client.get_run(done)
    assert run.info.status == "FINISHED" and run.data.params == {
        "hidden_units": "64",
        "seed": "1000",
    }
    assert run.data.tags["run_kind"] == "repeat" and run.data.tags["seed"] == "1000"
    assert run.data.tags["mlflow.parentRunId"] == job and run.data.tags["repeat_of_trial"] == "0"
    killed = client.get_run(orphan)
    assert killed.info.status == "KILLED" and killed.data.tags["killed_by"] == "crash"
    assert {r.info.run_id for r in tracker.child_runs(job, "repeat")} == {done, orphan}
    assert [r.info.run_id for r in tracker.child_runs(job, "trial")] == [trial]
    assert list(tracker.attempts_by_trial(job)) == ["0"]  # repeats are not trials


def test_unreachable_stores_fail_fast():
    with pytest.raises(TrackingError, match=r"^tracking.uri: cannot reach"):
        tracking.check_reachable("http://127.0.0.1:9")
    with pytest.raises(TrackingError, match=r"^tracking.uri: cannot create"):
        tracking.check_reachable("sqlite:////proc/no-such-folder/mlflow.db")
    with pytest.raises(TrackingError, match=r"^tracking.uri: 'file:./mlruns' is neither"):
        tracking.check_reachable("file:./mlruns")


def test_a_new_sqlite_store_is_reachable_without_writing(tmp_path):
    tracking.check_reachable(f"sqlite:///{tmp_path}/a/b/mlflow.db")
    assert not (tmp_path / "a").exists()


def test_tracker_and_null_tracker_share_one_interface():
    """Both implement every method of `Recorder` with the same parameters, so a job records
    through either without knowing which."""
    import inspect

    from src.tracking import NullTracker, Recorder

    methods = [n for n, v in vars(Recorder).items() if callable(v) and not n.startswith("_")]
    assert len(methods) >= 15
    for cls in (Tracker, NullTracker):
        for name in methods:
            expected = list(inspect.signature(getattr(Recorder, name)).parameters)
            actual = list(inspect.signature(getattr(cls, name)).parameters)
            assert actual == expected, (cls.__name__, name, actual)
