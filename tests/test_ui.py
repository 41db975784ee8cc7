"""The MLflow UI, checked in a real browser: headless Chromium on a small sweep's store."""

import shutil

import pytest
from helpers import job_and_trial_runs, mlflow_client, run_tiny_headline

from tools import ui

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.skipif(not shutil.which(ui.CHROMIUM), reason="Debian's chromium is not installed")
def test_mlflow_ui_lists_job_runs_and_their_nested_trials(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what `mlflow ui` writes beside itself stays in tmp_path
    run_tiny_headline(store, tmp_path)
    jobs, trials = job_and_trial_runs(store)
    experiment = mlflow_client(store).get_experiment(jobs[0].info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    names = sorted(job.info.run_name for job in jobs)

    screenshot = tmp_path / "mlflow_ui.png"
    with ui.mlflow_ui(store, tmp_path / "ui.log") as url:
        shown = ui.screenshot_runs(url, experiment.experiment_id, names, screenshot)

    assert len(shown) == len(trials) == 4  # both jobs expanded: 2 trial runs each
    assert all("trial-" in text for text in shown)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # kept in tmp_path for a look
