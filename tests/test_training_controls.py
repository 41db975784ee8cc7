"""A model family beside the MLP, early stopping per trial and a time budget per job, with the
real libraries on tiny budgets."""

from pathlib import Path

import mlflow
import numpy as np
import pytest
from helpers import job_and_trial_runs, mlflow_client

from src import data
from src.job import JobContext, run_sweep

pytestmark = pytest.mark.slow

TINY_CNN = (
    "model=cnn",
    "search.blocks=1",
    "search.filters=[4,8]",
    "search.dense_units=16",
    "search.dropout=0.1",
    "search.optimizer=adam",
    "search.learning_rate=0.003",
    "+search.learning_rate_decay=cosine",
)


def test_a_cnn_sweep_records_its_conv_arguments_and_exports_a_champion(tiny, store, tmp_path):
    from src import cli
    from src.serving.export import run_export

    result = run_sweep(tiny(*TINY_CNN, "data.limit=3000"), JobContext(sweep_id="cnn"))
    _, trials = job_and_trial_runs(store)
    assert {t.data.params["filters"] for t in trials} == {"4", "8"}
    for trial in trials:
        assert trial.data.params["model"] == "cnn"
        assert trial.data.params["learning_rate_decay"] == "cosine"
        for name in ("blocks", "kernel_size", "batch_norm", "dense_units", "dropout"):
            assert name in trial.data.params, name
    assert result.searched == ["filters"] and 0.3 < result.test_accuracy <= 1

    export = tmp_path / "export"
    version = run_export(cli.compose([f"tracking.uri={store}", f"export.dir={export}"]))
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"models:/{version.name}@{version.alias}")
    images = data.load("fashion_mnist", seed=0, limit=1000).x_test[:4]
    probs = np.asarray(model.predict(images))
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
    run_sweep(cfg, JobContext(sweep_id="es"))
    _, (trial,) = job_and_trial_runs(store)
    client = mlflow_client(store)
    history = client.get_metric_history(trial.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 1]  # complete up to where it stopped
    assert trial.data.metrics["stopped_epoch"] == 1
    assert trial.data.metrics["best_epoch"] == 0


def test_a_time_budget_stops_starting_trials_and_says_so(tiny, store):
    # A budget smaller than one trial: the first trial runs, no second starts.
    cfg = tiny("tuner.max_trials=5", "tuner.max_minutes=0.0001")
    result = run_sweep(cfg, JobContext(sweep_id="budget"))
    (job,), trials = job_and_trial_runs(store)
    assert len(trials) == 1 and trials[0].info.status == "FINISHED"
    assert job.info.status == "FINISHED" and job.data.tags["stopped_by"] == "time_budget"
    assert result.stopped_by == "time_budget" and result.trials == 1
    summary = mlflow_client(store).download_artifacts(job.info.run_id, "summary.md")
    assert "stopped by its time budget" in Path(summary).read_text()
