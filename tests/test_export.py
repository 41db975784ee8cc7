"""The winner of a real tiny sweep: chosen on validation, registered, exported, served."""

import contextlib
import io
import json
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    TINY,
    all_runs,
    compose,
    job_and_trial_runs,
    mlflow_client,
    one_line_error,
    run_cli,
    run_tiny_headline,
)

from src import data
from src.runtime import processes
from src.serving.champion import export_champion

# One module-scoped server/sweep, shared by its tests: they run on one pytest-xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("export")]
NAME = "fashion_mnist_softmax"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A store holding one real sweep of both losses, 3 trials each."""
    folder = tmp_path_factory.mktemp("export")
    store = f"sqlite:///{folder / 'store' / 'mlflow.db'}"
    run_tiny_headline(store, folder, "tuner.max_trials=3", "hydra/launcher=basic")
    return store, folder


@pytest.fixture(scope="module")
def exported(swept):
    store, folder = swept
    out = folder / "export"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        version = export_champion(compose(f"tracking.uri={store}", f"export.dir={out}"))
    return store, out, version, printed.getvalue()


def best_by_hand(store, loss=None):
    """The FINISHED trial with the highest best_val_accuracy (ties: lower best_val_loss)."""
    _, trials = job_and_trial_runs(store)
    finished = [
        t
        for t in trials
        if t.info.status == "FINISHED" and (loss is None or t.data.params["loss"] == loss)
    ]
    top = max(t.data.metrics["best_val_accuracy"] for t in finished)
    tied = [t for t in finished if t.data.metrics["best_val_accuracy"] == top]
    low = min(t.data.metrics["best_val_loss"] for t in tied)
    return {t.info.run_id for t in tied if t.data.metrics["best_val_loss"] == low}


def test_selection_is_the_best_validation_trial(exported):
    store, _, version, printed = exported
    assert version.created and version.alias == "champion" and version.name == NAME
    registered = mlflow_client(store).get_model_version_by_alias(NAME, "champion")
    assert registered.tags["trial_run_id"] in best_by_hand(store)
    assert registered.run_id == registered.tags["trial_run_id"]  # linked to the trial run
    for key in ("hidden_units", "optimizer", "learning_rate", "loss", "val_accuracy"):
        assert key in registered.tags
    # The leaderboard shows why: header, ranks, validation and test accuracy.
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("rank"))
    assert "val_accuracy" in lines[header] and "test_acc" in lines[header]
    assert lines[header + 1].split()[0] == "1" and lines[header + 5].split()[0] == "5"
    assert "models:/fashion_mnist_softmax@champion" in printed


def test_model_card_and_files(exported):
    store, out, version, _ = exported
    assert {p.name for p in out.iterdir()} == {
        "model.keras",
        "saved_model",
        "model_card.md",
        "model_card.json",
    }
    card = json.loads((out / "model_card.json").read_text())
    trial = mlflow_client(store).get_run(card["run_ids"]["trial"])
    assert card["validation_accuracy"] == pytest.approx(trial.data.metrics["best_val_accuracy"])
    assert card["hyperparameters"]["optimizer"] == trial.data.params["optimizer"]
    assert card["class_names"][0] == "T-shirt/top" and len(card["class_names"]) == 10
    assert set(card["per_class_test_accuracy"]) == set(card["class_names"])
    assert card["data"]["test_images"] == 10_000 and card["data"]["train_images"] == 1350
    assert 0.3 < card["test_accuracy"] <= 1 and card["version"] == version.version
    markdown = (out / "model_card.md").read_text()
    for text in ("Validation accuracy", "Test accuracy", "Ankle boot", card["run_ids"]["job"]):
        assert text in markdown


def test_champion_predicts_raw_images(exported):
    import mlflow

    store, out, _, _ = exported
    card = json.loads((out / "model_card.json").read_text())
    dataset = data.load("fashion_mnist", seed=42)
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    assert str(model.metadata.signature.inputs.to_dict()[0]["tensor-spec"]["dtype"]) == "uint8"
    probs = model.predict(dataset.x_test)  # raw uint8 (n, 28, 28), no preprocessing
    assert probs.shape == (10_000, 10) and np.allclose(probs.sum(1), 1, atol=1e-4)
    accuracy = float((probs.argmax(1) == dataset.y_test).mean())
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)


def test_saved_model_agrees_with_keras(exported):
    import keras
    import tensorflow as tf

    _, out, _, _ = exported
    images = data.load("fashion_mnist", seed=42).x_test[:256]
    expected = keras.models.load_model(out / "model.keras").predict(images, verbose=0)
    loaded = tf.saved_model.load(str(out / "saved_model"))  # kept: it owns the variables
    served = loaded.serve(tf.constant(images)).numpy()
    assert np.allclose(served, expected, atol=1e-5)


def test_exporting_the_same_winner_twice_adds_no_version(exported):
    store, out, first, _ = exported
    again = export_champion(compose(f"tracking.uri={store}", f"export.dir={out}"))
    assert not again.created and again.version == first.version
    assert len(mlflow_client(store).search_model_versions(f"name = '{NAME}'")) == 1


def test_export_restricted_to_one_loss(swept, tmp_path):
    store, _ = swept
    version = export_champion(
        compose(
            f"tracking.uri={store}",
            "export.loss=sparse",
            "export.name=sparse_only",
            f"export.dir={tmp_path}",
        )
    )
    tags = mlflow_client(store).get_model_version(version.name, version.version).tags
    assert tags["loss"] == "sparse" and tags["trial_run_id"] in best_by_hand(store, "sparse")


def test_card_test_loss_is_the_winners_cross_entropy(swept, tmp_path):
    """Keras evaluates the winner with the labels its loss takes (one-hot for categorical)."""
    import keras

    store, _ = swept
    overrides = ("export.loss=categorical", "export.name=categorical_only")
    export_champion(compose(f"tracking.uri={store}", *overrides, f"export.dir={tmp_path}"))
    card = json.loads((tmp_path / "model_card.json").read_text())
    dataset = data.load("fashion_mnist", seed=42)
    x, y = dataset.x_test, dataset.y_test
    probs = keras.models.load_model(tmp_path / "model.keras").predict(x, verbose=0)
    by_hand = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1)).mean()
    assert card["loss"] == "categorical" and card["test_loss"] == pytest.approx(by_hand, rel=1e-3)
    assert card["test_accuracy"] == pytest.approx((probs.argmax(1) == y).mean(), abs=1e-4)


def test_a_constraint_chooses_the_best_trial_meeting_it(swept, tmp_path):
    """export.max_parameters below the unconstrained winner's size: the champion is the best
    val_accuracy among the smaller models, and its card and version say which rule chose it."""
    store, _ = swept
    _, trials = job_and_trial_runs(store)
    finished = [t for t in trials if t.info.status == "FINISHED"]
    size = {t.info.run_id: t.data.metrics["n_parameters"] for t in finished}
    bound = int(size[next(iter(best_by_hand(store)))]) - 1
    meeting = [t for t in finished if size[t.info.run_id] <= bound]
    assert meeting  # the seeded search drew a smaller model than its winner
    top = max(t.data.metrics["best_val_accuracy"] for t in meeting)
    expected = {t.info.run_id for t in meeting if t.data.metrics["best_val_accuracy"] == top}

    overrides = (f"export.max_parameters={bound}", "export.name=small", f"export.dir={tmp_path}")
    version = export_champion(compose(f"tracking.uri={store}", *overrides))
    tags = mlflow_client(store).get_model_version(version.name, version.version).tags
    assert tags["trial_run_id"] in expected and tags["trial_run_id"] not in best_by_hand(store)
    assert tags["constraints"] == f"n_parameters <= {bound:,}"
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["constraints"] == {"max_parameters": bound}
    assert (
        f"n_parameters <= {bound:,}" in card["chosen_by"] and "does not meet" in card["chosen_by"]
    )


def test_a_constraint_nobody_meets_registers_nothing(swept, tmp_path):
    store, _ = swept
    out = tmp_path / "export"
    overrides = ("export.max_latency_ms=0.000001", "export.name=nobody", f"export.dir={out}")
    line = one_line_error(run_cli("src.export", f"tracking.uri={store}", *overrides))
    assert "export.max_latency_ms=1e-06" in line and "none of the 6 FINISHED trials" in line
    assert not out.exists()
    assert not mlflow_client(store).search_registered_models("name = 'nobody'")
    line = one_line_error(run_cli("src.export", f"tracking.uri={store}", "export.max_parameters=0"))
    assert "export.max_parameters" in line


def test_two_sweeps_compared_from_the_store(swept, tmp_path):
    """The sweep against itself (no repeats: unpaired): no difference, written and logged to a
    run of its own; a sweep that does not exist: one line naming those that do, no run."""
    from src import api

    store, _ = swept
    found = api.compare("latest", "latest", store, folder=str(tmp_path))
    assert "## Verdict (unpaired)" in found.text and "identical top trials" in found.text
    assert Path(found.path).read_text() == found.text and found.figures["difference"] == 0
    runs = [r for r in all_runs(store) if r.data.tags.get("run_kind") == "comparison"]
    assert len(runs) == 1 and runs[0].info.run_id in found.run
    names = {a.path for a in mlflow_client(store).list_artifacts(runs[0].info.run_id)}
    assert names == {"compare.md"}

    line = one_line_error(run_cli("src.compare", "latest", "nope", f"tracking.uri={store}"))
    sweep_id = runs[0].data.tags["compared_sweeps"].split()[0]
    assert "'nope'" in line and sweep_id in line
    assert len([r for r in all_runs(store) if r.data.tags.get("run_kind") == "comparison"]) == 1


def test_served_champion_answers_invocations(exported, tmp_path):
    store, _, _, _ = exported
    images = data.load("fashion_mnist", seed=42).x_test[:4]
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{NAME}@champion"]
    args += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    with processes.running(
        args, f"{url}/ping", tmp_path / "serve.log", env={"MLFLOW_TRACKING_URI": store}
    ):
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps({"inputs": images.tolist()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = np.array(json.load(response)["predictions"])
    assert predictions.shape == (4, 10) and np.allclose(predictions.sum(1), 1, atol=1e-4)


def test_export_errors_are_one_line_and_write_nothing(swept, tmp_path):
    store, _ = swept
    out = tmp_path / "export"
    empty = tmp_path / "none" / "mlflow.db"
    line = one_line_error(
        run_cli("src.export", f"tracking.uri=sqlite:///{empty}", f"export.dir={out}")
    )
    assert "tracking.uri" in line and not empty.parent.exists()
    line = one_line_error(
        run_cli("src.export", f"tracking.uri={store}", "export.sweep_id=nope", f"export.dir={out}")
    )
    assert "export.sweep_id" in line and "nope" in line
    line = one_line_error(run_cli("src.export", f"tracking.uri={store}", "export.loss=sparce"))
    assert "export.loss" in line

    # A sweep whose every trial diverges has no FINISHED trial to export.
    failing = f"sqlite:///{tmp_path / 'failing' / 'mlflow.db'}"
    result = run_cli(
        "src.sweep",
        *TINY,
        "search.learning_rate=1e30",
        "search.optimizer=sgd",
        f"tracking.uri={failing}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    jobs, _ = job_and_trial_runs(failing)
    sweep_id = jobs[0].data.tags["sweep_id"]
    line = one_line_error(
        run_cli(
            "src.export",
            f"tracking.uri={failing}",
            f"export.sweep_id={sweep_id}",
            f"export.dir={out}",
        )
    )
    assert "no FINISHED trial" in line and sweep_id in line
    assert not out.exists()
    assert mlflow_client(failing).search_registered_models() == []


def test_refit_registers_a_model_trained_on_train_and_validation_linked_to_its_trial(
    swept, tmp_path
):
    store, _ = swept
    overrides = (f"tracking.uri={store}", "export.refit=true", "export.name=refit_champion")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        version = export_champion(compose(*overrides, f"export.dir={tmp_path / 'a'}"))
    client = mlflow_client(store)
    tags = client.get_model_version(version.name, version.version).tags
    assert tags["refit_of"] in best_by_hand(store)  # retrained the validation winner
    refit = client.get_run(tags["trial_run_id"])  # the registered model's source run
    assert (
        refit.data.tags["run_kind"] == "refit" and refit.data.tags["refit_of"] == tags["refit_of"]
    )
    trial = client.get_run(tags["refit_of"])
    assert refit.data.tags["mlflow.parentRunId"] == trial.data.tags["mlflow.parentRunId"]
    # All training images: the job's training and validation split together, for the winner's
    # best epoch count.
    job = client.get_run(trial.data.tags["mlflow.parentRunId"])
    images = int(job.data.params["train_images"]) + int(job.data.params["val_images"])
    assert refit.data.params["train_images"] == str(images)
    assert refit.data.params["epochs"] == str(int(trial.data.metrics["best_epoch"]) + 1)
    steps = [m.step for m in client.get_metric_history(refit.info.run_id, "accuracy")]
    assert steps == list(range(int(refit.data.params["epochs"])))
    card = json.loads((tmp_path / "a" / "model_card.json").read_text())
    assert card["refit"]["run_id"] == refit.info.run_id
    assert 0.3 < card["searched_test_accuracy"] <= 1 and 0.3 < card["test_accuracy"] <= 1
    assert "refit on training + validation images" in printed.getvalue()
    assert "**Refit**" in (tmp_path / "a" / "model_card.md").read_text()
    # Again: the finished refit is reused, not retrained, and no version is added.
    again = export_champion(compose(*overrides, f"export.dir={tmp_path / 'b'}"))
    assert not again.created and again.version == version.version
    refits = client.search_runs([trial.info.experiment_id], "tags.run_kind = 'refit'")
    assert len(refits) == 1
