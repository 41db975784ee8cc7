"""End to end: Hydra composes, keras-tuner searches, MLflow records every trial.

Real TensorFlow, keras-tuner and an SQLite MLflow store in a temporary folder; tiny budgets.
"""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import (
    all_runs,
    job_and_trial_runs,
    mlflow_client,
    one_line_error,
    run_cli,
    run_tiny_headline,
    svg_picture,
)

from src import api, data
from src.errors import TrackingError, UserError
from src.job import JobContext, run_job

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


def test_headline_multirun_records_every_trial(store, tmp_path):
    result = run_tiny_headline(store, tmp_path, "train.epochs=2")

    jobs, trials = job_and_trial_runs(store)
    assert sorted(j.data.tags["overrides"].split()[0] for j in jobs) == [
        "loss=categorical",
        "loss=sparse",
    ]
    assert {j.info.run_name.split(",")[0] for j in jobs} == {"loss=sparse", "loss=categorical"}
    assert len({j.data.tags["sweep_id"] for j in jobs}) == 1  # one invocation, one sweep id
    client = mlflow_client(store)
    for job in jobs:
        assert job.info.status == "FINISHED"
        for tag in ("git_commit", "git_dirty", "search_key", "best_trial_id"):
            assert tag in job.data.tags
        metrics = job.data.metrics
        assert 0.3 < metrics["test_accuracy"] <= 1 and metrics["test_loss"] > 0
        assert 0.3 < metrics["best_val_accuracy"] <= 1
        artifacts = {a.path for a in client.list_artifacts(job.info.run_id)}
        assert {"config.yaml", "best_trial.json"} <= artifacts
        _assert_mlflow_conventions(job, ["training", "validation", "test"])
        children = [t for t in trials if t.data.tags["mlflow.parentRunId"] == job.info.run_id]
        assert sorted(t.data.tags["trial_id"] for t in children) == ["0", "1"]
        loss = job.data.params["loss"]
        for trial in children:
            assert trial.info.status == "FINISHED"
            _assert_mlflow_conventions(trial, ["training", "validation"])
            assert not [k for k in trial.data.metrics if k.startswith("system/")]  # off: default
            params = trial.data.params
            for name in (
                "hidden_units",
                "optimizer",
                "learning_rate",
                "layers",
                "dropout",
                "batch_size",
                "epochs",
                "data",
                "tuner",
            ):
                assert name in params, name
            assert params["loss"] == loss and params["data"] == "fashion_mnist"
            for metric in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time"):
                history = client.get_metric_history(trial.info.run_id, metric)
                assert [m.step for m in history] == [0, 1], metric
            names = {a.path for a in client.list_artifacts(trial.info.run_id)}
            assert {"model.keras", "hyperparameters.json"} <= names

    # Pictures, tables and summaries on every run, valid as files.
    import pandas as pd

    def artifact(run, name):
        return Path(client.download_artifacts(run.info.run_id, name, str(tmp_path)))

    for job in jobs:
        pictures = (
            "confusion_matrix.svg",
            "misclassified.svg",
            "hyperparameters.svg",
            "pareto.svg",
        )
        for name in pictures:
            assert svg_picture(artifact(job, name)), name
        # Every trial's curves on one picture of the job's, drawn once at its end.
        assert svg_picture(artifact(job, "trial_curves.svg"))
        table = pd.read_csv(artifact(job, "trials.csv"))
        assert len(table) == 2 and "val_accuracy" in table.columns
        assert artifact(job, "summary.md").read_text().startswith("## ")
        sweep_summary = artifact(job, "sweep_summary.md").read_text()
        assert "sparse vs categorical" in sweep_summary
        assert len(pd.read_csv(artifact(job, "sweep_trials.csv"))) == 4
    for trial in trials:
        # None of its own unless asked for (tracking.trial_plots): MLflow charts its metrics.
        assert "learning_curves.svg" not in {
            a.path for a in client.list_artifacts(trial.info.run_id)
        }
        assert {"best_val_accuracy", "mean_epoch_time"} <= set(trial.data.metrics)
        assert {"n_parameters", "latency_ms", "model_mb"} <= set(trial.data.metrics)

    # The terminal's closing summary names both losses; not being a terminal, the progress
    # display printed plain lines.
    assert "sparse vs categorical" in result.stderr
    progress_lines = [line for line in result.stderr.splitlines() if line.startswith("[progress]")]
    assert progress_lines and "\x1b[" not in result.stderr

    # The best trial's saved model takes raw uint8 images.
    best = jobs[0]
    path = client.download_artifacts(
        best.data.tags["best_trial_run_id"], "model.keras", str(tmp_path)
    )
    model = keras.models.load_model(path)
    test = data.load("fashion_mnist", seed=0, limit=1000)
    probs = model.predict(test.x_test[:100], verbose=0)
    assert probs.shape == (100, 10)
    assert (probs.argmax(1) == test.y_test[:100]).mean() > 0.3

    # The same command again resumes: nothing is retrained or logged twice.
    run_tiny_headline(store, tmp_path, "train.epochs=2")
    assert len(all_runs(store)) == len(jobs) + len(trials)


def _assert_mlflow_conventions(run, contexts: list[str]) -> None:
    """What MLflow's UI reads: the data set's splits as dataset inputs (Datasets column), the
    source tags (Source column) and the user."""
    tags = run.data.tags
    assert tags["mlflow.source.name"] == "src/sweep.py" and tags["mlflow.source.type"] == "LOCAL"
    assert len(tags["mlflow.source.git.commit"]) == 40 and run.info.user_id == tags["mlflow.user"]
    inputs = run.inputs.dataset_inputs
    assert sorted(i.tags[0].value for i in inputs) == sorted(contexts), inputs
    expected = data.split_digests("fashion_mnist", 1500, 0.1, 42)
    for item in inputs:
        assert item.dataset.name == "fashion_mnist" and item.tags[0].key == "mlflow.data.context"
        assert item.dataset.digest == expected[item.tags[0].value]
        assert json.loads(item.dataset.source)["url"].startswith("https://")
        rows = json.loads(item.dataset.profile)["num_rows"]
        assert rows == {"training": 1350, "validation": 150, "test": 10000}[item.tags[0].value]


@pytest.mark.parametrize("tuner", ["random", "bayesian", "grid", "hyperband"])
def test_every_tuner_searches_and_records(tiny, store, tuner):
    extra = (
        "train.epochs=2",
        "tuner.max_trials=3",
        "search.optimizer=adam",
        "search.learning_rate.adam=[0.001,0.003]",
        "search.hidden_units=[32,64]",
    )
    # One of them draws each trial's own learning curves as well.
    plots = ("tracking.trial_plots=true",) if tuner == "grid" else ()
    result = run_job(tiny(f"tuner={tuner}", *extra, *plots), JobContext(sweep_id="t"))
    jobs, trials = job_and_trial_runs(store)
    assert len(jobs) == 1 and jobs[0].info.status == "FINISHED"
    # 2 x 2 = 4 combinations. Random and Bayesian (its first max(3 x dimensions, 3) trials are
    # random) draw 3 distinct ones, grid takes the first 3 in order: max_trials decides.
    # Hyperband with max_epochs=2 and factor 3 has one bracket (2 < 3), of
    # ceil(1 + log_3 2) = 2 trials trained for all 2 epochs, then stops: 2, under max_trials.
    expected = {"random": 3, "bayesian": 3, "grid": 3, "hyperband": 2}[tuner]
    assert len(trials) == expected and all(t.info.status == "FINISHED" for t in trials)
    assert sorted(t.data.tags["trial_id"] for t in trials) == [str(i) for i in range(expected)]
    assert result.failed == 0 and 0 < result.test_accuracy <= 1
    assert jobs[0].data.tags["best_trial_id"] == result.best_trial_id
    if tuner == "hyperband":
        assert all(t.data.params["tuner/epochs"] == "2" for t in trials)
    client = mlflow_client(store)
    for trial in trials:
        names = {a.path for a in client.list_artifacts(trial.info.run_id)}
        assert ("learning_curves.svg" in names) == bool(plots), names


def test_a_changed_config_gets_fresh_state_not_stale(tiny, store):
    run_job(tiny(), JobContext(sweep_id="a"))
    # The Python API's way: a config object, run in this process by the same function.
    sweep = api.run_sweep(tiny("search.hidden_units=48"), name="wider")
    jobs, trials = job_and_trial_runs(store)
    assert len(jobs) == 2 and len(trials) == 4
    assert len({j.data.tags["search_key"] for j in jobs}) == 2
    second_job = next(j for j in jobs if j.data.tags["sweep_id"] == sweep.sweep_id)
    second = [t for t in trials if t.data.tags["mlflow.parentRunId"] == second_job.info.run_id]
    assert len(second) == 2 and {t.data.params["hidden_units"] for t in second} == {"48"}

    # Its results as a DataFrame: one row per trial, hyperparameters and metrics as columns.
    frame = sweep.results()
    assert list(frame.columns[:6]) == [
        "sweep_id",
        "job",
        "overrides",
        "trial_id",
        "status",
        "error",
    ]
    assert len(frame) == 2 and set(frame.job) == {"wider"} and list(frame.trial_id) == [0, 1]
    assert (frame.hidden_units == 48).all() and (frame.status == "FINISHED").all()
    assert frame.best_val_accuracy.between(0, 1).all() and (frame.loss == "sparse").all()
    assert {"learning_rate", "optimizer", "last_loss", "last_val_accuracy"} <= set(frame.columns)
    assert frame.attrs["searched"] == ["optimizer", "learning_rate"]
    everything = api.load_results(store)
    assert len(everything) == 4 and everything.sweep_id.nunique() == 2
    assert set(api.load_results(store, sweep_id="latest").job) == {"wider"}  # the newest
    curves = api.learning_curves(store, frame.run_id[0])
    assert list(curves.epoch) == [0] and {"loss", "val_accuracy"} <= set(curves.columns)
    with pytest.raises(TrackingError, match="sweep: no sweep 'nope'"):
        api.load_results(store, sweep_id="nope")


def test_reruns_are_reproducible(tiny, tmp_path):
    first = run_job(tiny(), JobContext(sweep_id="a"))
    other_store = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    second = run_job(tiny(f"tracking.uri={other_store}"), JobContext(sweep_id="b"))
    assert first.best_hyperparameters == second.best_hyperparameters
    np.testing.assert_allclose(first.best_val_accuracy, second.best_val_accuracy, atol=1e-6)


def test_bad_input_is_one_line_and_writes_nothing(store, tmp_path):
    result = run_cli("src.sweep", "loss=sparce", f"tracking.uri={store}")
    assert one_line_error(result).startswith("error: loss: 'sparce'")
    result = run_cli("src.sweep", "train.epochs=-1", f"tracking.uri={store}")
    assert one_line_error(result) == "error: train.epochs: got -1; use a whole number >= 1"
    # The same one line from the Python API, raised.
    with pytest.raises(UserError, match=r"^train.epochs: got -1; use a whole number >= 1$"):
        api.run_sweep(["train.epochs=-1", f"tracking.uri={store}"])
    assert not (tmp_path / "store").exists()


def test_any_argument_is_searchable_and_recorded_per_trial(tiny, store):
    """`search.batch_size=[64,128]`, a training argument, and L2, a model argument, searched
    from the command line with no code naming them."""
    cfg = tiny(
        "tuner=grid",
        "tuner.max_trials=4",
        "search.batch_size=[64,128]",
        "search.l2=[0.0,0.001]",
        "search.hidden_units=32",
        "search.optimizer=adam",
        "search.learning_rate=0.003",
    )
    result = run_job(cfg, JobContext(sweep_id="open"))
    jobs, trials = job_and_trial_runs(store)
    seen = {(t.data.params["batch_size"], t.data.params["l2"]) for t in trials}
    assert seen == {("64", "0.0"), ("128", "0.0"), ("64", "0.001"), ("128", "0.001")}
    assert result.searched == ["l2", "batch_size"]
    assert (
        "batch_size" in result.rows[0]
        and "| l2 | batch_size |"
        in (
            Path(mlflow_client(store).download_artifacts(jobs[0].info.run_id, "summary.md"))
        ).read_text()
    )


def test_the_searched_batch_size_is_the_one_training_uses(small_data=None):
    import keras_tuner as kt

    from src.model import searchable
    from src.model.mlp import MLP
    from src.search.hypermodel import SoftmaxHyperModel
    from src.search.space import parse_space

    space = parse_space({"batch_size": 50, "hidden_units": 8}, searchable(MLP, "mlp"))
    hypermodel = SoftmaxHyperModel(space, MLP, "sparse", seed=0)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    dataset = data.load("fashion_mnist", seed=0, limit=1000)
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    hypermodel.fit(
        hp,
        model,
        dataset.x_train,
        dataset.y_train,
        epochs=1,
        batch_size=7,
        callbacks=[counter],
        verbose=0,
    )
    assert len(batches) == -(-len(dataset.x_train) // 50)  # 50 per batch, not the 7 passed in
