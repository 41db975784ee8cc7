"""The command's tracking process started ahead by the entry point (src/runtime/ahead.py): the
jobs share that one, a command that tracks nothing ends it unused, and it writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest
from helpers import ROOT, all_runs, one_line_error, wait_until

from src.runtime import ahead
from src.tracking import RemoteTracker
from src.tracking.shared import shared_tracking

pytestmark = pytest.mark.slow  # starts processes

_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _nothing_left_ahead():
    _BEFORE.clear()
    _BEFORE.update(p.pid for p in _services())
    yield
    ahead.end_unused()


def _services() -> list[psutil.Process]:
    return [p for p in psutil.Process().children() if "src.tracking.service" in p.cmdline()]


def _children() -> list[psutil.Process]:
    """The tracking processes this test started."""
    return [p for p in _services() if p.pid not in _BEFORE]


def _started() -> list[psutil.Process]:
    """Those, once one is there: a new process shows its command line only once it has
    exec'd (before that, it is a copy of this one)."""
    return wait_until(_children, timeout=30, interval=0.02)


def test_the_jobs_share_the_tracking_process_started_ahead(store):
    ahead.start_ahead(["-m", "loss=sparse,categorical"])
    [started] = _started()
    with shared_tracking():
        tracker = RemoteTracker(store, "tests")
        run_id = tracker._create_run("job", {})
        tracker.end_run(run_id, "FINISHED")
        tracker.close()
        assert [p.pid for p in _children()] == [started.pid]  # no second one
    assert not psutil.pid_exists(started.pid) or started.status() == "zombie"
    assert [r.info.status for r in all_runs(store, "tests")] == ["FINISHED"]


@pytest.mark.parametrize(
    "args",
    [
        ["tracking=none"],
        ["-m", "tracking.enabled=false"],
        ["--cfg", "job"],
        ["--cfg=job"],
        ["distributed.role=worker"],
    ],
)
def test_a_command_that_tracks_nothing_starts_no_tracking_process(args):
    ahead.start_ahead(args)
    assert _children() == []


def test_a_run_whose_environment_changed_since_gets_a_new_tracking_process(monkeypatch):
    """A single run's `hydra.job.env_set` (an MLflow token, say) reaches the tracking process:
    the one started before it was set is killed unused, and a new one started."""
    ahead.start_ahead(["loss=sparse"])
    [early] = _started()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "set-by-hydra")
    taken = ahead.take()
    try:
        assert taken.process.pid != early.pid and taken.env["MLFLOW_TRACKING_TOKEN"]
        wait_until(lambda: not psutil.pid_exists(early.pid) or early.status() == "zombie", 10)
    finally:
        taken.end(wait=10)


def test_an_unused_tracking_process_ends_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where its socket's folder goes
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    ahead.start_ahead(["loss=sparse"])
    [started] = _started()
    ahead.end_unused()
    wait_until(lambda: not psutil.pid_exists(started.pid) or started.status() == "zombie", 10)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_command_leaves_no_tracking_process_and_no_files(tmp_path):
    """Bad input, refused by the sweeper's checks: the process started ahead is gone with the
    command and the socket's folder with it (TMPDIR is the test's folder)."""
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.sweep",
            "-m",
            "loss=sparse,categorical",
            "train.epochs=0",
            f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"hydra.sweep.dir={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert one_line_error(result).startswith("error: train.epochs")
    assert list(tmp_path.iterdir()) == []  # no store, no run folder, no socket folder
    assert not [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]


def test_what_the_entry_point_sets_after_the_start_does_not_count_as_a_changed_environment():
    """The names `fits` ignores are the ones the entry point sets (spelled out there: it may
    import nothing of the project): were one renamed, every command would start a second
    tracking process."""
    from src.job.context import SWEEP_ID_ENV

    assert {SWEEP_ID_ENV, "HYDRA_FULL_ERROR"} <= ahead._ENTRY_ONLY
    assert 'os.environ["HYDRA_FULL_ERROR"]' in (ROOT / "src" / "cli.py").read_text()
