"""A model family beside the MLP, early stopping per trial and a time budget per job, with the
real libraries on tiny budgets."""

from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
from helpers import job_and_trial_runs, mlflow_client, run_cli

from src import data
from src.job import JobContext, run_job
from src.model import scoring

pytestmark = pytest.mark.slow


def test_a_briefly_trained_cnn_is_scored_truly_and_its_export_agrees(store, tmp_path):
    """The command a new user tries first on the CNN: a trial of 2 epochs on 4,000 images.
    With Keras' batch-norm momentum (0.99) it reported val_accuracy 0.3125 and test 0.273:
    inference-mode scores judged moving averages still near their initial values."""
    from src import cli
    from src.serving.champion import export_champion

    command = (
        "loss=sparse",
        "model=cnn",
        "data.limit=4000",
        "tuner.max_trials=1",
        "train.epochs=2",
    )
    result = run_cli("src.sweep", *command, f"tracking.uri={store}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    (job,), trials = job_and_trial_runs(store)
    val, test = job.data.metrics["best_val_accuracy"], job.data.metrics["test_accuracy"]
    assert val >= 0.70 and abs(test - val) <= 0.03, (val, test)
    for trial in trials:
        assert trial.data.params["model"] == "cnn"
        for name in ("blocks", "filters", "batch_norm_momentum", "dense_units", "precision"):
            assert name in trial.data.params, name

    export = tmp_path / "export"
    version = export_champion(cli.compose([f"tracking.uri={store}", f"export.dir={export}"]))
    # The exported model scores on the validation images exactly what its trial reported.
    split = data.load("fashion_mnist", seed=42, limit=4000)
    exported = keras.saving.load_model(export / "model.keras")
    assert scoring.score(exported, split.x_val, split.y_val, 1024).accuracy == val
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"models:/{version.name}@{version.alias}")
    probs = np.asarray(model.predict(split.x_test[:4]))
    assert probs.shape == (4, 10) and "filters" in (export / "model_card.md").read_text()


def test_early_stopping_stops_a_trial_and_keeps_its_best_epoch(tiny, store):
    # A learning rate too small to change anything: val_accuracy never improves after epoch 0.
    cfg = tiny(
        "train.epochs=6",
        "train.early_stopping_patience=1",
        "tuner.max_trials=1",
        "search.hidden_units=16",
        "search.optimizer=sgd",
        "search.learning_rate=1e-9",
    )
    run_job(cfg, JobContext(sweep_id="es"))
    _, (trial,) = job_and_trial_runs(store)
    client = mlflow_client(store)
    history = client.get_metric_history(trial.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 1]  # complete up to where it stopped
    assert trial.data.metrics["stopped_epoch"] == 1
    assert trial.data.metrics["best_epoch"] == 0


def test_a_time_budget_stops_starting_trials_and_says_so(tiny, store):
    # A budget smaller than one trial: the first trial runs, no second starts.
    cfg = tiny("tuner.max_trials=5", "tuner.max_minutes=0.0001")
    result = run_job(cfg, JobContext(sweep_id="budget"))
    (job,), trials = job_and_trial_runs(store)
    assert len(trials) == 1 and trials[0].info.status == "FINISHED"
    assert job.info.status == "FINISHED" and job.data.tags["stopped_by"] == "time_budget"
    assert result.stopped_by == "time_budget" and result.trials == 1
    summary = mlflow_client(store).download_artifacts(job.info.run_id, "summary.md")
    assert "stopped by its time budget" in Path(summary).read_text()
