"""A tracking server's outage does not hold the search (src/tracking/background.py): the next
trial starts while the server is down, its records wait (on disk), and what the store finally
shows is complete. With real processes and a real `mlflow server` on loopback."""

import json
import signal
import time
from pathlib import Path

import pytest
from helpers import mlflow_client, run_cli, wait_until
from test_async_tracking import mlflow_server, runs, start
from test_async_tracking import sweep as outage_sweep

from src.runtime import processes

pytestmark = pytest.mark.slow

TRIALS, EPOCHS = 4, 3


def sweep(tmp_path: Path, url: str) -> list[str]:
    spill = f"tracking.spill_dir={tmp_path / 'spill'}"
    return outage_sweep(tmp_path, url, spill, epochs=EPOCHS, trials=TRIALS)


def progress(tmp_path: Path) -> dict:
    try:
        return json.loads((tmp_path / "run" / "progress.json").read_text())
    except (OSError, ValueError):
        return {}


def first_epoch_stored(url: str) -> bool:
    return any("val_accuracy" in r.data.metrics for r in runs(url, "trial"))


def assert_complete(url: str) -> list:
    """Every trial once, FINISHED, with each of its epochs once; the job FINISHED."""
    client = mlflow_client(url)
    (job,) = runs(url, "job")
    assert job.info.status == "FINISHED"
    trials = runs(url, "trial")
    finished = [t for t in trials if t.info.status == "FINISHED"]
    assert sorted(t.data.tags["trial_id"] for t in finished) == [str(i) for i in range(TRIALS)]
    for trial in finished:
        steps = [m.step for m in client.get_metric_history(trial.info.run_id, "val_accuracy")]
        assert sorted(steps) == list(range(EPOCHS)), (trial.data.tags["trial_id"], steps)
        assert "model.keras" in {a.path for a in client.list_artifacts(trial.info.run_id)}
    return finished


def test_the_next_trial_starts_while_the_server_is_down(tmp_path):
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with mlflow_server(tmp_path, port):
        proc = start(sweep(tmp_path, url), tmp_path / "log.txt")
        wait_until(lambda: first_epoch_stored(url), timeout=300, interval=0.2)
    down_at = time.time() * 1000
    at_down = progress(tmp_path).get("trial_number", 0)
    # Down until a later trial has trained an epoch (longer than a trial: it began and ended
    # meanwhile), the count of waiting records shown.
    seen = wait_until(
        lambda: (
            (p := progress(tmp_path)).get("trial_number", 0) > at_down
            and p.get("epoch", 0) >= 1
            and p.get("waiting", 0) > 0
            and p
        ),
        timeout=300,
        interval=0.1,
    )
    assert proc.poll() is None
    up_at = time.time() * 1000
    with mlflow_server(tmp_path, port):
        code = proc.wait(timeout=300)
        log = (tmp_path / "log.txt").read_text()
        assert code == 0, log[-3000:]
        assert "records waiting for the store" in log, seen
        # The summary's last line: this sweep's runs on the server's own UI, nothing to start.
        last = [x for x in log.splitlines() if x.startswith("This sweep's runs: ")][-1]
        assert last.startswith(f"This sweep's runs: {url}/#/experiments/") and "start" not in last
        finished = assert_complete(url)
        # A trial began, and trained its first epoch, while the server was down: its run
        # and its first epoch's metrics carry the times they were handed over at.
        client = mlflow_client(url)
        during = []
        for trial in finished:
            (first,) = [
                m
                for m in client.get_metric_history(trial.info.run_id, "val_accuracy")
                if m.step == 0
            ]
            if down_at < trial.info.start_time < first.timestamp < up_at:
                during.append(trial.data.tags["trial_id"])
        assert during, [(t.info.start_time, down_at, up_at) for t in finished]
    assert not list((tmp_path / "spill").iterdir())  # delivered, and cleared


def test_records_waiting_when_the_job_is_killed_are_stored_once_by_the_rerun(tmp_path):
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    args = sweep(tmp_path, url)
    with mlflow_server(tmp_path, port):
        proc = start(args, tmp_path / "log.txt")
        wait_until(lambda: first_epoch_stored(url), timeout=300, interval=0.2)
    # The server down; a later trial in training, records waiting: kill -9 the job.
    at_down = progress(tmp_path).get("trial_number", 0)
    wait_until(
        lambda: (
            (p := progress(tmp_path)).get("trial_number", 0) > at_down
            and p.get("epoch", 0) >= 1
            and p.get("waiting", 0) > 0
        ),
        timeout=300,
        interval=0.1,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # What the job handed over is on disk, for whoever opens this store next.
    wait_until(lambda: list((tmp_path / "spill").glob("*/records.jsonl")), timeout=30)
    with mlflow_server(tmp_path, port):
        again = run_cli(*args, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        finished = assert_complete(url)
        # The trial cut short by the kill continued in its own run, from its last epoch.
        resumed = [t for t in finished if "resumed_from_epoch" in t.data.tags]
        assert len(resumed) == 1, [t.data.tags for t in finished]
        assert len(runs(url, "trial")) == TRIALS  # no second run of any trial
    assert not list((tmp_path / "spill").iterdir())
