"""The MLflow UI, checked in a real browser: headless Chromium on a small sweep's store."""

import shutil

import pytest
from helpers import job_and_trial_runs, mlflow_client, run_cli, run_tiny_headline

from src import ui as ui_command
from tools import ui

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.skipif(
    not shutil.which(ui.CHROMIUM),
    reason="Debian's chromium is not installed: `make test` installs it as root "
    "(apt-get install chromium)",
)
def test_mlflow_ui_lists_job_runs_and_their_nested_trials(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what `mlflow ui` writes beside itself stays in tmp_path
    # System metrics on, sampled often enough for a one-epoch trial to have some.
    result = run_tiny_headline(
        store,
        tmp_path,
        "tracking.system_metrics=true",
        env={"MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "0.5"},
    )
    jobs, trials = job_and_trial_runs(store)
    # The closing summary ends with the address of this sweep's job runs, and how to serve it.
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("This sweep's runs: http://127.0.0.1:5000/#/experiments/"), last
    assert f"mlflow ui --backend-store-uri {store}" in last
    printed = last.split(": ", 1)[1].split()[0]
    experiment = mlflow_client(store).get_experiment(jobs[0].info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    names = sorted(job.info.run_name for job in jobs)

    # The export prints its champion's address in the model registry the same way.
    exported = run_cli("src.export", f"tracking.uri={store}", f"export.dir={tmp_path / 'out'}")
    assert exported.returncode == 0, exported.stderr[-3000:]
    line = next(x for x in exported.stdout.splitlines() if x.startswith("in the model registry"))
    registry = line.split(": ", 1)[1].split()[0]
    assert "/#/models/" in registry and registry.endswith("/versions/1"), line

    screenshot = tmp_path / "mlflow_ui.png"
    with ui.mlflow_ui(store, tmp_path / "ui.log") as url:
        champion = ui.page_text(registry.replace("http://127.0.0.1:5000", url), "champion")
        # Where a newcomer starts: the printed addresses (on this UI's port), a fresh profile.
        address = printed.replace("http://127.0.0.1:5000", url)
        this_sweep = ui.runs_at(address, names[0], tmp_path / "sweep.png")
        port = int(url.rsplit(":", 1)[1])
        make_ui = ui_command._address(store, experiment.name, port)  # what `make ui` prints
        shown, table = ui.screenshot_runs(
            url, experiment.experiment_id, names, screenshot, address=make_ui
        )
        overview, system = ui.screenshot_run(
            url, experiment.experiment_id, trials[0].info.run_id, tmp_path / "mlflow_run.png"
        )

    assert len(shown) == len(trials) == 4  # both jobs expanded: 2 trial runs each
    assert "Version 1" in champion and "champion" in champion, champion
    # The training view (not MLflow's GenAI overview): the sweep's address lists its job runs.
    assert all(name in this_sweep for name in names) and "trial-" not in this_sweep, this_sweep
    assert "workflowType=machine_learning" in make_ui and "Traces 0" not in table
    assert all("trial-" in text for text in shown)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # kept in tmp_path for a look
    # MLflow's own columns, filled: Dataset (name and digest) and Source (entry point).
    assert table.count("fashion_mnist (") >= 6 and table.count("sweep.py") >= 6, table
    # A trial's page: its source with the commit, its data set's splits, its system metrics.
    commit = trials[0].data.tags["mlflow.source.git.commit"]
    assert "sweep.py" in overview and commit[:7] in overview, overview
    trial_digest = trials[0].inputs.dataset_inputs[0].dataset.digest
    assert f"fashion_mnist ({trial_digest})" in overview and "Training" in overview, overview
    # Its System metrics tab draws MLflow's charts (the ones in view: it draws them lazily).
    assert "cpu_utilization_percentage" in system, system
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(
        trials[0].data.metrics
    )
