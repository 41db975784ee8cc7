"""Tracking off the training thread: what it promises after kill -9 and through a tracking
server's outage, with real processes and a real `mlflow server` on loopback."""

import json
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from helpers import ROOT, mlflow_client, run_cli, wait_until

from src.runtime import processes
from src.tracking import Tracker

pytestmark = pytest.mark.slow

EPOCHS = 8


@contextmanager
def mlflow_server(folder: Path, port: int):
    """`mlflow server` on a SQLite database in `folder`, serving artifacts; the same folder and
    port again give the same server back."""
    args = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--workers", "1"]
    args += ["--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]
    url = f"http://127.0.0.1:{port}"
    with processes.running(args, f"{url}/health", folder / "server.log", timeout=240) as proc:
        # Without MLflow's GenAI job runners (processes.NO_JOB_RUNNERS): ~20 s of CPU a start.
        runners = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "huey" in str(p.cmdline())
        ]
        assert not runners, [p.cmdline() for p in runners]
        yield proc


def sweep(tmp_path: Path, url: str, *overrides: str, epochs=EPOCHS, trials=1) -> list[str]:
    return [
        "src.sweep",
        "data.limit=3000",
        f"train.epochs={epochs}",
        f"tuner.max_trials={trials}",
        f"tracking.uri={url}",
        "tracking.experiment=outage",
        f"tuner.dir={tmp_path / 'tuner'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        *overrides,
    ]


def start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def runs(url: str, kind: str) -> list:
    client = mlflow_client(url)
    experiment = client.get_experiment_by_name("outage")
    if experiment is None:
        return []
    found = client.search_runs([experiment.experiment_id], max_results=1000)
    return [r for r in found if r.data.tags.get("run_kind") == kind]


def epochs_stored(url: str, run_id: str) -> list[int]:
    history = mlflow_client(url).get_metric_history(run_id, "val_accuracy")
    return sorted(m.step for m in history)


def trial_mid_training(url: str, min_epochs: int = 1) -> str | None:
    """The RUNNING trial run's id once it has `min_epochs` epochs in the store."""
    for run in runs(url, "trial"):
        if run.info.status == "RUNNING" and len(epochs_stored(url, run.info.run_id)) >= min_epochs:
            return run.info.run_id
    return None


def test_completed_epochs_survive_kill_9_with_asynchronous_logging(store, tmp_path):
    """The training thread hands each epoch's metrics to the tracker and goes on; killed with
    kill -9 right after an epoch (no grace), the job loses none it handed over: its journal
    holds them, and the next tracker opened on the store delivers them, each once."""
    args = ["src.sweep", "data.limit=6000", "train.epochs=30", "tuner.max_trials=1"]
    args += [f"tracking.uri={store}", f"hydra.run.dir={tmp_path / 'run'}"]
    proc = start(args, tmp_path / "log.txt")
    progress = tmp_path / "run" / "progress.json"

    def epochs_done() -> int:
        try:
            epochs = json.loads(progress.read_text()).get("epochs_run", 0)
        except (OSError, ValueError):
            return 0
        return epochs if epochs >= 3 else 0

    # progress.json is written at an epoch's end, just before its metrics are handed over: the
    # epochs before the last it counts were handed over when it was read.
    handed_over = wait_until(epochs_done, timeout=300, interval=0.05) - 1
    family = psutil.Process(proc.pid).children(recursive=True)  # its tracking process
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    psutil.wait_procs(family, timeout=120)  # a tracking process stops when its job is gone
    Tracker(store, "delivery").close()  # delivers what the killed processes had not stored
    (trial,) = [r for r in _sqlite_runs(store) if r.data.tags.get("run_kind") == "trial"]
    assert trial.info.status == "RUNNING"  # killed: the next start closes it as a crash
    steps = epochs_stored(store, trial.info.run_id)
    assert steps == list(range(len(steps))), steps  # each epoch once, none skipped
    assert len(steps) >= handed_over, (handed_over, steps)


def _sqlite_runs(uri: str) -> list:
    client = mlflow_client(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, max_results=1000)


def test_a_server_that_never_comes_back_ends_the_job_in_one_line_and_it_resumes(tmp_path):
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    spill = tmp_path / "spill"
    args = sweep(tmp_path, url, "tracking.max_outage_seconds=3", f"tracking.spill_dir={spill}")
    with mlflow_server(tmp_path, port):
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: trial_mid_training(url), timeout=300)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    # The one line, after the live progress lines (plain ones, as stderr is not a terminal),
    # which said that records were waiting for the store.
    lines = [line for line in err.strip().splitlines() if not line.startswith("[progress]")]
    assert len(lines) == 1, err[-3000:]
    (line,) = lines
    assert line.startswith("error: tracking.uri: ") and "max_outage_seconds" in line, line
    assert "records waiting for the store" in err
    # The trial trained to its end meanwhile; what the store did not take waits on disk.
    assert list(spill.glob("*/records.jsonl"))
    # The same command, once the server is back, stores it (the trial's run FINISHED with
    # each epoch once) and ends the job.
    with mlflow_server(tmp_path, port):
        again = run_cli(*args, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        (job,) = runs(url, "job")
        assert job.info.status == "FINISHED"
        (finished,) = runs(url, "trial")
        assert finished.info.status == "FINISHED"
        assert epochs_stored(url, finished.info.run_id) == list(range(EPOCHS))
        assert "model.keras" in {
            a.path for a in mlflow_client(url).list_artifacts(finished.info.run_id)
        }
    assert not list(spill.iterdir())
