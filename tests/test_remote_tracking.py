"""A job's tracker in a process of its own (src/tracking/remote.py, src/tracking/service.py):
the job never imports MLflow, the tracking process stores what it was given even when the job
dies, and its errors reach the job as the job's own would."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import psutil
import pytest
from helpers import ROOT, TINY, all_runs, job_and_trial_runs, wait_until

from src.errors import TrackingError
from src.tracking import RemoteTracker, StoreUnavailable
from src.tracking.remote import RemoteError
from src.tracking.shared import shared_tracking


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_a_job_records_every_run_without_importing_mlflow(store, tmp_path):
    done = _python(f"""
        import json, sys
        sys.path.insert(0, "tests")
        from helpers import compose
        from src.job import JobContext, run_job

        cfg = compose(*{TINY!r}, "tracking.uri={store}", "tuner.dir={tmp_path / "tuner"}")
        result = run_job(cfg, JobContext(sweep_id="remote"))
        heavy = ("mlflow", "sqlalchemy", "alembic")
        imported = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        print(json.dumps([imported, result.best_val_accuracy]))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    imported, best = json.loads(done.stdout.splitlines()[-1])
    assert imported == []
    jobs, trials = job_and_trial_runs(store)
    assert [j.info.status for j in jobs] == ["FINISHED"]
    assert sorted(t.info.status for t in trials) == ["FINISHED", "FINISHED"]
    # What the job scored reached the store through its tracking process (1 epoch a trial).
    assert 0.1 < best <= 1
    assert max(t.data.metrics["val_accuracy"] for t in trials) == pytest.approx(best)
    assert jobs[0].data.metrics["best_val_accuracy"] == pytest.approx(best)
    assert all(t.inputs.dataset_inputs for t in trials)  # dataset inputs built over there


def test_what_a_job_sent_is_stored_after_it_is_killed(store):
    """kill -9 of the job right after its last write: the tracking process stores every
    metric it was handed (nothing flushed), closes nothing it was not told to, then ends."""
    done = _python(f"""
        import os, signal
        from src.tracking import RemoteTracker

        tracker = RemoteTracker("{store}", "tests")
        run_id = tracker._create_run("killed", {{}})
        for step in range(200):
            tracker.log_metrics(run_id, {{"x": float(step)}}, step=step)
        print(tracker._process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert done.returncode == -9, done.stderr[-3000:]
    service = int(done.stdout.split()[0])
    wait_until(lambda: not psutil.pid_exists(service), timeout=60)
    (run,) = all_runs(store, "tests")
    assert run.info.status == "RUNNING"  # a resumed job closes it (close_orphans)
    from helpers import mlflow_client

    history = mlflow_client(store).get_metric_history(run.info.run_id, "x")
    assert sorted(m.step for m in history) == list(range(200))


def test_the_tracking_process_answers_with_the_jobs_own_errors(store):
    tracker = RemoteTracker(store, "tests")
    try:
        run_id = tracker._create_run("r", {"k": "v"})
        tracker.log_params(run_id, {"p": 1})
        with pytest.raises(RemoteError, match="MlflowException"):
            tracker.log_params(run_id, {"p": 2})  # MLflow refuses to change a param...
            tracker.flush()  # ...which the next call raises, as the in-process writer does
        (run,) = tracker.child_runs("nobody", "trial") or [None]
        assert run is None
        tracker.end_run(run_id, "FINISHED")
        tracker.flush()
        assert tracker.unavailable is False
    finally:
        tracker.close()
    (stored,) = all_runs(store, "tests")
    assert stored.info.status == "FINISHED" and stored.data.params == {"p": "1"}


def test_a_store_that_is_not_there_is_one_error_line(tmp_path):
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    tracker = RemoteTracker(dead, "tests", max_outage_seconds=1)
    try:
        with pytest.raises((StoreUnavailable, TrackingError)) as refused:
            tracker.experiment_id  # noqa: B018
        message = str(refused.value)
        assert message.startswith("tracking.uri: ") and "\n" not in message, message
    finally:
        tracker.close()


def test_the_jobs_of_a_multirun_share_one_tracking_process(store):
    """Inside `shared_tracking` (the sweeper's, while the jobs run) every tracker connects to
    the one tracking process instead of starting its own; it ends with the multirun, having
    stored what each job sent."""
    with shared_tracking():
        trackers = [RemoteTracker(store, "tests") for _ in range(2)]
        assert [_connected(t)._process for t in trackers] == [None, None]
        ids = [t._create_run(f"job-{i}", {}) for i, t in enumerate(trackers)]
        for tracker, run_id in zip(trackers, ids, strict=True):
            tracker.log_metrics(run_id, {"x": 1.0})
            tracker.end_run(run_id, "FINISHED")
            tracker.close()  # no flush: the tracking process stores it before it ends
        # This worker's tracking processes (a session's shared servers may be its children too).
        service = [p for p in psutil.Process().children() if "src.tracking.service" in p.cmdline()]
        assert len(service) == 1 and "--listen" in service[0].cmdline()
    assert not psutil.pid_exists(service[0].pid) or service[0].status() == "zombie"
    runs = all_runs(store, "tests")
    assert sorted(r.info.run_name for r in runs) == ["job-0", "job-1"]
    assert all(r.info.status == "FINISHED" and r.data.metrics == {"x": 1.0} for r in runs)
    own = _connected(RemoteTracker(store, "tests"))
    assert own._process is not None  # outside: a process of its own
    own.close()


def _connected(tracker: RemoteTracker) -> RemoteTracker:
    """The tracker once it has connected (it connects in its answer thread)."""
    assert tracker._connected.wait(30)
    return tracker


def test_the_tracking_process_imports_mlflow_without_pandas_and_still_stores(tmp_path):
    # What it imports ahead (src/tracking/service.py): MLflow skips pandas, which only data
    # frame datasets need; runs, metrics and pictures are stored as before; pandas stays
    # importable.
    out = _python(f"""
        import sys, threading
        from src.tracking.service import _import_ahead
        opened = threading.Event()
        opened.set()  # as once a job's store is open: the pictures' libraries next
        _import_ahead(opened)
        print("pandas" in sys.modules, "mlflow.tracking" in sys.modules)
        from src.tracking.runs import Tracker
        tracker = Tracker("sqlite:///{tmp_path}/mlflow.db", "exp", asynchronous=False)
        run_id = tracker._create_run("job", {{}})
        tracker.log_metrics(run_id, {{"val_accuracy": 0.5}}, step=0)
        curves = {{"history": {{k: [0.5, 0.6] for k in ("loss", "accuracy", "val_loss",
                   "val_accuracy")}}, "epochs": [0, 1]}}
        tracker.log_picture(run_id, "learning_curves", curves, "learning_curves.svg")
        tracker.end_run(run_id, "FINISHED")
        tracker.flush()
        import pandas
        print(tracker.client.get_run(run_id).data.metrics["val_accuracy"], pandas.__name__)
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["False", "True", "0.5", "pandas"]
    assert any(tmp_path.rglob("learning_curves.svg"))
