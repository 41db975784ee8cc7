"""Crashes, kills, signals, failing trials, bad input and concurrency, with real processes.

A sweep subprocess is watched through a read-only SQLite connection (opening the store with
MLflow from here would itself create tables), interrupted mid-trial, and rerun.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from helpers import (
    ROOT,
    TINY,
    all_runs,
    assert_each_trial_once,
    mlflow_client,
    one_line_error,
    project_folder,
    read_store,
    run_cli,
    wait_until,
)

from src.search import state

pytestmark = pytest.mark.slow

# Long enough trials (6 epochs on 18,000 images, ~3 s) to be interrupted in the middle.
INTERRUPTIBLE = ("tuner.max_trials=3", "train.epochs=6", "data.limit=20000")


def start(*args, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - closed by the process's end
    return subprocess.Popen(
        [sys.executable, "-m", "src.sweep", *args],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )


def running_trial(uri: str, trial_id: str, min_epochs: int = 1):
    """(run id, epochs logged) of the trial's RUNNING run once it has logged `min_epochs`."""
    rows = read_store(
        uri,
        "SELECT r.run_uuid, (SELECT COUNT(*) FROM metrics m "
        "WHERE m.run_uuid = r.run_uuid AND m.key = 'val_accuracy') "
        "FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
        "WHERE t.key = 'trial_id' AND t.value = ? AND r.status = 'RUNNING'",
        (trial_id,),
    )
    if not rows:
        return None
    run_id, epochs = rows[0]
    return (run_id, epochs) if epochs >= min_epochs else None


def jobs_mid_trial(uri: str) -> set[str] | None:
    """The parent (job) run ids of RUNNING trial runs that have logged an epoch."""
    rows = read_store(
        uri,
        "SELECT DISTINCT p.value FROM runs r "
        "JOIN tags p ON p.run_uuid = r.run_uuid AND p.key = 'mlflow.parentRunId' "
        "JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'run_kind' "
        "AND k.value = 'trial' "
        "WHERE r.status = 'RUNNING' AND EXISTS (SELECT 1 FROM metrics m "
        "WHERE m.run_uuid = r.run_uuid AND m.key = 'val_accuracy')",
    )
    return None if rows is None else {parent for (parent,) in rows}


def trial_runs(uri):
    return [r for r in all_runs(uri) if r.data.tags.get("run_kind") == "trial"]


def job_runs(uri):
    return [r for r in all_runs(uri) if r.data.tags.get("run_kind") == "job"]


def assert_complete(uri, trials=3):
    """Exactly `trials` FINISHED trial runs, one per trial id, and nothing left RUNNING."""
    runs = all_runs(uri)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    assert_each_trial_once(trial_runs(uri), trials)
    jobs = job_runs(uri)
    assert len(jobs) == 1 and jobs[0].info.status == "FINISHED"  # resumed, not duplicated
    assert "test_accuracy" in jobs[0].data.metrics


# Epochs of about 1.5 s (batch 8 on 18,000 images): a kill lands inside the epoch after the
# one the test saw stored.
SLOW_EPOCHS = ("tuner.max_trials=1", "train.epochs=6", "data.limit=20000", "search.batch_size=8")


def test_kill_9_mid_trial_resumes_from_the_last_completed_epoch(store, tmp_path):
    args = (*SLOW_EPOCHS, f"tracking.uri={store}")
    proc = start(*args, log_path=tmp_path / "first.log")
    killed_run, seen = wait_until(lambda: running_trial(store, "0", min_epochs=3))
    proc.kill()
    killed_at = time.time() * 1000
    proc.wait(timeout=30)
    client = mlflow_client(store)
    stored = sorted(m.step for m in client.get_metric_history(killed_run, "val_accuracy"))
    done = len(stored)  # what it had finished when killed (it may have ended one more)
    assert stored == list(range(done)) and seen <= done < 6, (seen, stored)

    started = time.monotonic()
    again = run_cli("src.sweep", *args)
    print(f"\nresume to completion: {time.monotonic() - started:.1f} s")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "continues from its last completed epoch" in again.stderr + again.stdout
    assert_complete(store, trials=1)
    (run,) = trial_runs(store)  # the same run, continued: not a second one
    assert run.info.run_id == killed_run and run.info.status == "FINISHED"
    assert run.data.tags["resumed_from_epoch"] == str(done) and run.data.tags["crashes"] == "1"
    assert "killed_by" not in run.data.tags
    history = client.get_metric_history(killed_run, "val_accuracy")
    assert sorted(m.step for m in history) == [0, 1, 2, 3, 4, 5]  # each epoch once
    assert all((m.timestamp < killed_at) == (m.step < done) for m in history)
    best_epoch = max(history, key=lambda m: m.value).step
    assert run.data.metrics["best_epoch"] == best_epoch
    # The optimizer continued too: its step count at the best epoch is every batch up to it
    # (18,000 images in batches of 8), not only those trained since the resume.
    model = keras.saving.load_model(client.download_artifacts(killed_run, "model.keras"))
    assert int(model.optimizer.iterations) == (best_epoch + 1) * 18000 // 8


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_mark_runs_killed_and_resume(store, tmp_path, sig, code):
    args = (*INTERRUPTIBLE, f"tracking.uri={store}")
    proc = start(*args, log_path=tmp_path / "first.log")
    interrupted_run, _ = wait_until(lambda: running_trial(store, "1"))
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    output = (tmp_path / "first.log").read_text()
    assert "interrupted:" in output and "Traceback" not in output
    runs = {r.info.run_id: r for r in all_runs(store)}
    assert runs[interrupted_run].info.status == "KILLED"
    assert runs[interrupted_run].data.tags["killed_by"] == "interrupt"
    assert job_runs(store)[0].info.status == "KILLED"
    if sig == signal.SIGTERM:  # a resume point that does not match its file is never used
        (weights,) = Path(store.removeprefix("sqlite:///")).parent.glob("tuner/*/trial_1/epoch-*")
        weights.write_bytes(weights.read_bytes()[:-16])

    again = run_cli("src.sweep", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_complete(store)
    job = job_runs(store)[0]  # reopened and finished: how it stopped before is history
    assert job.info.status == "FINISHED" and "killed_by" not in job.data.tags
    runs = {r.info.run_id: r for r in trial_runs(store) if r.data.tags["trial_id"] == "1"}
    if sig == signal.SIGINT:  # continued in its own run
        assert (
            list(runs) == [interrupted_run]
            and "resumed_from_epoch" in runs[interrupted_run].data.tags
        )
    else:  # trained again from epoch 0, in a new run that says why
        (fresh,) = (r for r in runs.values() if r.info.status == "FINISHED")
        assert "damaged" in fresh.data.tags["resume_refused"]
        assert "epoch 0" in again.stderr + again.stdout


def test_ctrl_c_stops_parallel_jobs_cleanly_and_they_resume(store, tmp_path):
    """Ctrl-C reaches the whole process group: the parent and Hydra's joblib workers."""
    args = (
        "-m",
        "loss=sparse,categorical",
        *INTERRUPTIBLE,
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    )
    log = open(tmp_path / "first.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "src.sweep", *args],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Both jobs are in the middle of a trial (an epoch of each logged), so both must stop.
    parents = wait_until(lambda: (p := jobs_mid_trial(store)) and len(p) == 2 and p)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    output = (tmp_path / "first.log").read_text()
    assert "2 job(s), 0 failed, 2 interrupted" in output and "Traceback" not in output
    assert not [r for r in all_runs(store) if r.info.status == "RUNNING"]
    jobs = job_runs(store)
    assert {j.info.run_id for j in jobs} == parents
    assert all(j.info.status == "KILLED" for j in jobs)
    for parent in parents:  # each job's trial in progress was cut short by the interrupt
        assert [
            t.data.tags["killed_by"]
            for t in trial_runs(store)
            if t.data.tags["mlflow.parentRunId"] == parent and t.info.status == "KILLED"
        ] == ["interrupt"]

    again = run_cli("src.sweep", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    finished = [r for r in trial_runs(store) if r.info.status == "FINISHED"]
    # Seen once in 23 runs: 5 FINISHED. Say which trial, how it ended and why, if it recurs.
    seen = sorted(
        (
            r.data.tags["mlflow.parentRunId"][:8],
            r.data.tags.get("trial_id"),
            r.info.status,
            r.data.tags.get("killed_by"),
            r.data.tags.get("error"),
        )
        for r in trial_runs(store)
    )
    assert len(finished) == 6 and len(job_runs(store)) == 2, (seen, again.stdout[-3000:])
    assert all(j.info.status == "FINISHED" for j in job_runs(store))


def test_a_trial_that_always_dies_is_failed_after_bounded_attempts(store, tmp_path):
    args = (*INTERRUPTIBLE, "tuner.max_crashes_per_trial=1", f"tracking.uri={store}")
    proc = start(*args, log_path=tmp_path / "first.log")
    wait_until(lambda: running_trial(store, "1"))
    proc.kill()
    proc.wait(timeout=30)
    again = run_cli("src.sweep", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    by_status = {}
    for run in trial_runs(store):
        by_status.setdefault(run.data.tags["trial_id"], []).append(run.info.status)
    assert by_status["1"] == ["FAILED"]  # its run, reopened, not trained a second time
    assert by_status["0"] == ["FINISHED"] and by_status["2"] == ["FINISHED"]
    failed = next(r for r in trial_runs(store) if r.info.status == "FAILED")
    assert "process died" in failed.data.tags["error"]


def test_resume_false_starts_afresh(tiny, store):
    from src.job import JobContext, run_job

    run_job(tiny(), JobContext(sweep_id="a"))
    run_job(tiny("train.resume=false"), JobContext(sweep_id="b"))
    jobs = job_runs(store)
    assert len(jobs) == 2 and len(trial_runs(store)) == 4
    assert {j.data.tags["sweep_id"] for j in jobs} == {"a", "b"}


def test_a_trial_recorded_but_not_saved_by_keras_tuner_is_not_trained_again(tiny, store, tmp_path):
    """The process died after MLflow closed a trial's run FINISHED and before keras-tuner
    saved the trial as ended: the rerun takes the recorded result instead of training it
    again, and records nothing twice."""
    from src.job import JobContext, run_job

    cfg = tiny()
    run_job(cfg, JobContext(sweep_id="a"))
    project = project_folder(cfg)
    # keras-tuner's files as they stand between the end of `run_trial` and `end_trial`
    # (oracle.py): the last trial still RUNNING, with no metrics reported, ongoing for the
    # tuner, not in the end order, its run not counted.
    oracle = json.loads((project / "oracle.json").read_text())
    last = oracle["end_order"].pop()
    oracle["ongoing_trials"] = {"tuner0": last}
    oracle["run_times"].pop(last)
    state.write_json_atomically(project / "oracle.json", oracle)
    trial_file = project / f"trial_{last}" / "trial.json"
    saved = json.loads(trial_file.read_text())
    assert saved["status"] == "COMPLETED"
    state.write_json_atomically(
        trial_file,
        {**saved, "status": "RUNNING", "score": None, "best_step": 0, "metrics": {"metrics": {}}},
    )
    checkpoint = project / f"trial_{last}" / "checkpoint.weights.h5"
    trained_at = checkpoint.stat().st_mtime_ns
    client = mlflow_client(store)
    (job,) = job_runs(store)
    client.update_run(job.info.run_id, status="RUNNING")  # a dead process closes nothing
    before = {t.info.run_id: t for t in trial_runs(store)}
    recorded = next(t for t in before.values() if t.data.tags["trial_id"] == last)
    history = client.get_metric_history(recorded.info.run_id, "val_accuracy")

    again = run_cli("src.sweep", *TINY, f"tracking.uri={store}", f"hydra.run.dir={tmp_path}")
    assert again.returncode == 0, again.stderr[-2000:]
    trials = trial_runs(store)
    assert_each_trial_once(trials, 2)
    assert {t.info.run_id for t in trials} == set(before)  # no new run: nothing trained
    assert checkpoint.stat().st_mtime_ns == trained_at  # keras-tuner did not train it either
    assert client.get_metric_history(recorded.info.run_id, "val_accuracy") == history
    # keras-tuner now holds the trial as ended, scored with what MLflow recorded.
    resaved = json.loads(trial_file.read_text())
    assert resaved["status"] == "COMPLETED"
    assert resaved["score"] == pytest.approx(recorded.data.metrics["best_val_accuracy"])
    assert json.loads((project / "oracle.json").read_text())["end_order"][-1] == last
    (job_again,) = job_runs(store)
    assert job_again.info.run_id == job.info.run_id and job_again.info.status == "FINISHED"


def test_unreadable_state_names_the_file_and_the_way_out(tiny, store):
    from src.job import JobContext, run_job

    cfg = tiny()
    run_job(cfg, JobContext(sweep_id="a"))
    oracle = project_folder(cfg) / "oracle.json"
    oracle.write_text(oracle.read_text()[:40])  # what a crash mid-write used to leave
    runs_before = len(all_runs(store))
    result = run_cli("src.sweep", *TINY, f"tracking.uri={store}")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(oracle) in errors[0] and "train.resume=false" in errors[0]
    assert len(all_runs(store)) == runs_before
    assert job_runs(store)[0].info.status == "FINISHED"  # the old run is left as it was
    fresh = run_cli("src.sweep", *TINY, f"tracking.uri={store}", "train.resume=false")
    assert fresh.returncode == 0, fresh.stderr[-2000:]


def test_failing_trials_are_recorded_and_a_failed_job_does_not_poison_the_next(store):
    result = run_cli(
        "src.sweep",
        "-m",
        "search.learning_rate=1e30,0.01",
        "search.optimizer=sgd",
        "tuner.max_trials=4",
        "tuner.max_retries_per_trial=2",
        *TINY[:2],
        f"tracking.uri={store}",
    )
    assert result.returncode == 1
    summary = result.stderr[result.stderr.index("sweep: 2 job(s), 1 failed, 0 interrupted") :]
    assert "FAILED" in summary and "stopped after 3 trials failed in a row" in summary
    assert "NaNLossError" in summary and "FINISHED" in summary
    jobs = {j.data.params["search_space"].count("1e+30") > 0: j for j in job_runs(store)}
    assert jobs[True].info.status == "FAILED" and jobs[False].info.status == "FINISHED"
    nan_trials = [
        t for t in trial_runs(store) if t.data.tags["mlflow.parentRunId"] == jobs[True].info.run_id
    ]
    # NaN is not retried with the same values, even with retries allowed.
    assert len(nan_trials) == 3 and all(t.info.status == "FAILED" for t in nan_trials)
    assert all("NaN" in t.data.tags["error"] for t in nan_trials)
    healthy = [
        t for t in trial_runs(store) if t.data.tags["mlflow.parentRunId"] == jobs[False].info.run_id
    ]
    assert len(healthy) == 4 and all(t.info.status == "FINISHED" for t in healthy)


BAD_INPUT = [
    ("loss=sparce", "loss:"),
    ("train.epochs=three", "train.epochs:"),
    ("train.epochs=-1", "train.epochs:"),
    ("tuner.max_trials=0", "tuner.max_trials:"),
    ("data.limit=-5", "data.limit:"),
    ("+train.lr=0.1", "train.lr:"),
    ("tuner=nonesuch", "tuner:"),
    ("search.hidden_units='int(512, 32)'", "search.hidden_units:"),
    ("search.learning_rate=0", "search.learning_rate:"),
    ("search.learning_rate=-1e-3", "search.learning_rate:"),
    ("study.repeats=-1", "study.repeats:"),
]


@pytest.mark.parametrize("override,field", BAD_INPUT)
@pytest.mark.parametrize("multirun", [False, True])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, override, field, multirun):
    store = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    args = ["-m", "loss=sparse,categorical"] if multirun else []
    result = run_cli(
        "src.sweep",
        *args,
        override,
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        timeout=60,
    )
    assert one_line_error(result).startswith(f"error: {field}")
    assert not (tmp_path / "store").exists() and not (tmp_path / "multirun").exists()


def test_missing_data_and_unreachable_store_are_refused_at_start(tmp_path):
    store = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("src.sweep", f"data.dir={empty}", f"tracking.uri={store}", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        next(line for line in result.stderr.splitlines() if line.startswith("error: data.dir:"))
    ]
    assert not (tmp_path / "store").exists()
    result = run_cli("src.sweep", "tracking.uri=http://127.0.0.1:9", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: tracking.uri: cannot reach")


def test_two_sweeps_at_once_on_a_brand_new_store(store, tmp_path):
    # Trials of a few seconds, so that the two searches surely run at the same time.
    budget = (*TINY, "data.limit=6000", "train.epochs=3")
    procs = [
        start(*budget, f"loss={loss}", f"tracking.uri={store}", log_path=tmp_path / f"{loss}.log")
        for loss in ("sparse", "categorical")
    ]
    same = start(*budget, "loss=sparse", f"tracking.uri={store}", log_path=tmp_path / "same.log")
    for proc, name in zip([*procs, same], ["sparse", "categorical", "same"], strict=True):
        assert proc.wait(timeout=300) == 0, (tmp_path / f"{name}.log").read_text()[-2000:]
    jobs = job_runs(store)
    assert sorted(j.data.params["loss"] for j in jobs) == ["categorical", "sparse"]
    trials = trial_runs(store)
    assert len(trials) == 4
    assert all(r.info.status == "FINISHED" for r in all_runs(store))
    # They overlapped: each search's trials began before the other's had all ended (trial runs
    # are only written by the two searches; the job runs were reopened by the third command).
    spans = {}
    for job in jobs:
        mine = [t for t in trials if t.data.tags["mlflow.parentRunId"] == job.info.run_id]
        assert len(mine) == 2
        spans[job.data.params["loss"]] = (
            min(t.info.start_time for t in mine),
            max(t.info.end_time for t in mine),
        )
    (start_a, end_a), (start_b, end_b) = spans.values()
    assert start_a < end_b and start_b < end_a, spans
    # The identical third command and the first met at the search's lock: one waited for the
    # other, then found the search done (no trial runs of its own above).
    waited = [
        name
        for name in ("sparse", "same")
        if "is running this search; waiting for it" in (tmp_path / f"{name}.log").read_text()
    ]
    assert len(waited) == 1, waited


def test_parallel_jobs_with_the_joblib_launcher_log_every_trial(store, tmp_path):
    result = run_cli(
        "src.sweep",
        "-m",
        "loss=sparse,categorical",
        "hydra/launcher=joblib",
        *TINY,
        "train.epochs=3",
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sweep: 2 job(s), 0 failed, 0 interrupted" in result.stderr
    client = mlflow_client(store)
    trials = trial_runs(store)
    assert len(job_runs(store)) == 2 and len(trials) == 4
    for trial in trials:
        assert trial.info.status == "FINISHED"
        assert len(client.get_metric_history(trial.info.run_id, "val_loss")) == 3


def test_a_signal_whose_interrupt_was_swallowed_still_stops_training():
    """A KeyboardInterrupt raised inside a finalizer is lost ("Exception ignored"); the next
    batch stops training all the same."""
    import keras
    import numpy as np

    from src.runtime import signals
    from src.search.tuners import StopOnSignal

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.zeros((64, 4), "float32"), np.zeros(64, "int32")
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    signals._received = signal.SIGINT  # as if the handler ran and its raise was swallowed
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, batch_size=8, epochs=3, callbacks=[counter, StopOnSignal()], verbose=0)
    finally:
        signals._received = None
    assert len(batches) == 1  # stopped after the first batch, not after 24


def test_an_interrupt_tensorflow_turned_into_an_error_cuts_the_trial_short(
    tiny, store, tmp_path, monkeypatch
):
    """Ctrl-C while pybind11 builds an error TensorFlow raises and catches itself comes out as
    a RuntimeError ("MISMATCH ... REPLACED BY KeyboardInterrupt"). keras-tuner took it for a
    failed trial: FAILED, never run again on resume, and only the next trial's first batch
    stopped the job (seen as 5 FINISHED trials of 6 after the parallel Ctrl-C and resume)."""
    import keras
    import tensorflow as tf
    from tensorflow.python.framework import errors_impl

    from src.job import JobContext, prepare, run_job
    from src.runtime import signals

    monkeypatch.setattr(signals, "_received", None)
    armed = [True]

    def handler_runs_here(error, *args, **kwargs):
        signals._handle(signal.SIGINT, None)  # as Python runs it: raises KeyboardInterrupt

    def sigint_while_tensorflow_raises(batch, logs):
        if armed and armed.pop():  # trial 0's first batch, once
            with monkeypatch.context() as m:
                m.setattr(errors_impl.NotFoundError, "__init__", handler_runs_here)
                tf.io.gfile.exists(str(tmp_path / "missing"))  # NotFoundError inside

    cb = keras.callbacks.LambdaCallback(on_train_batch_end=sigint_while_tensorflow_raises)
    real_callbacks = prepare.callbacks
    monkeypatch.setattr(prepare, "callbacks", lambda cfg: [*real_callbacks(cfg), cb])
    cfg = tiny()
    with pytest.raises(KeyboardInterrupt) as stopped:
        run_job(cfg, JobContext(sweep_id="a"))
    runs = [
        (t.data.tags["trial_id"], t.info.status, t.data.tags.get("killed_by"))
        for t in trial_runs(store)
    ]
    assert runs == [("0", "KILLED", "interrupt")]  # not FAILED, and trial 1 never started
    assert "REPLACED BY KeyboardInterrupt" in str(stopped.value.__cause__)
    project = project_folder(cfg)
    assert json.loads((project / "oracle.json").read_text())["ongoing_trials"] == {"tuner0": "0"}

    signals._received = None
    run_job(cfg, JobContext(sweep_id="b"))  # the resume runs trial 0 again, then trial 1
    assert_each_trial_once(trial_runs(store), 2)
    assert job_runs(store)[0].info.status == "FINISHED"
