"""How a multirun's jobs report back: outcomes as Hydra's return values, and the signal relay.

Fast: no training. The end-to-end cases (a failing job in a joblib multirun, Ctrl-C and SIGTERM)
are in test_resilience.py.
"""

import io
import pickle
import subprocess
import sys
import textwrap

import pytest
from helpers import ROOT

from src.reporting import status, summary
from src.reporting.outcome import JobOutcome, JobResult


def _result(job: str, loss: str) -> JobResult:
    row = {
        "trial_id": "0",
        "status": "COMPLETED",
        "hidden_units": 64,
        "layers": 1,
        "dropout": 0.0,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "val_accuracy": 0.81,
        "epoch_time": 0.5,
        "error": None,
    }
    return JobResult(
        job=job,
        loss=loss,
        run_id=None,
        best_trial_id="0",
        best_hyperparameters={"hidden_units": 64, "learning_rate": 0.001},
        best_val_accuracy=0.81,
        best_val_loss=0.5,
        test_accuracy=0.8,
        test_loss=0.55,
        trials=1,
        failed=0,
        trial_epochs=1,
        train_images=1000,
        mean_val_accuracy=0.81,
        mean_epoch_time=0.5,
        peak_memory_mb=900.0,
        rows=[row],
    )


def _returns(*values):
    """What Hydra's launcher hands the sweeper: one sequence of JobReturn per batch."""
    from hydra.core.utils import JobReturn, JobStatus

    batch = []
    for value in values:
        job_return = JobReturn()
        if isinstance(value, BaseException):
            job_return.status, job_return._return_value = JobStatus.FAILED, value
        else:
            job_return.status, job_return._return_value = JobStatus.COMPLETED, value
        batch.append(job_return)
    return [batch]


def test_closing_summary_from_the_returns_of_a_multirun_where_one_job_fails():
    ok = JobOutcome("loss=sparse", "FINISHED", result=_result("loss=sparse", "sparse"))
    failed = JobOutcome("loss=categorical", "FAILED", error="stopped after 3 trials failed")
    # The joblib launcher pickles each return value back from its worker process.
    returns = pickle.loads(pickle.dumps(_returns(ok, failed)))
    outcomes = status.outcomes(returns)
    assert [o.job for o in outcomes] == ["loss=sparse", "loss=categorical"]
    assert outcomes[0].result == ok.result

    out = io.StringIO()
    assert summary.finish(outcomes, file=out) == 1  # jobs not finished: the entry process exits 1
    text = out.getvalue()
    assert "sweep: 2 job(s), 1 failed, 0 interrupted" in text
    lines = text.splitlines()
    assert any(
        line.split()[:2] == ["loss=sparse", "FINISHED"] and "test_accuracy 0.8000" in line
        for line in lines
    )
    assert "  loss=categorical  FAILED    stopped after 3 trials failed" in lines
    assert "## loss=sparse" in lines and "Best trial 0: val_accuracy 0.8100" in text


def test_an_exception_that_escaped_a_job_is_raised_not_summarised():
    with pytest.raises(ZeroDivisionError):
        status.outcomes(_returns(JobOutcome("a", "FINISHED"), ZeroDivisionError("bug")))


def test_the_record_for_tools_keeps_the_outcome(tmp_path):
    import json

    outcome = JobOutcome("loss=sparse", "FINISHED", result=_result("loss=sparse", "sparse"))
    status.write_record(tmp_path, outcome)
    record = json.loads((tmp_path / status.STATUS_FILE).read_text())
    assert record["status"] == "FINISHED" and record["result"]["trial_epochs"] == 1


# A child that records the signal it gets, after saying it is ready.
CHILD = """
import signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: (out.write_text("SIGTERM"), sys.exit(0)))
out.with_suffix(".ready").touch()
time.sleep(60)
"""

PARENT = """
import os, signal, subprocess, sys, time
from pathlib import Path
from src.runtime import signals

folder, child = Path(sys.argv[1]), sys.argv[2]

def start(name):
    proc = subprocess.Popen([sys.executable, "-c", child, str(folder / name)])
    while not (folder / f"{name}.ready").exists():
        time.sleep(0.05)
    return proc

signals.install()
before = start("before")  # not the launcher's: started before the sweep
with signals.relaying(folder):
    worker = start("worker")
    os.kill(os.getpid(), signal.SIGTERM)  # to this process only, not its group
    worker.wait(timeout=30)
print(signals.received(), signals.sweep_interrupted(folder), (folder / "before").exists())
before.kill()
"""


def test_a_multiruns_entry_process_passes_a_signal_on_to_the_launchers_workers(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PARENT), str(tmp_path), CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]  # the entry process did not raise
    assert result.stdout.split() == ["15", "True", "False"]
    assert (tmp_path / "worker").read_text() == "SIGTERM"


def test_a_job_is_named_for_what_it_searches_not_where_results_go_or_what_follows():
    from src.job import JobContext

    overrides = ("loss=sparse", "export.refit=true", "study.repeats=3", "tracking.uri=x")
    assert JobContext(overrides=overrides, sweep_id="s").name == "loss=sparse"
    assert JobContext(overrides=("export.refit=true",), sweep_id="s").name == "defaults"
