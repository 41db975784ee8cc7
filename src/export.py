"""`python -m src.export [overrides]`: the best trial -> Model Registry (alias champion) + files.

    python -m src.export                                  # best trial of the experiment
    python -m src.export export.sweep_id=20261124-...     # of one sweep
    python -m src.export export.loss=categorical          # of one loss
    mlflow models serve -m "models:/fashion_mnist_softmax@champion" --env-manager local

The winner is the FINISHED trial with the highest `best_val_accuracy` (ties: lower
`best_val_loss`); test metrics are shown, never used to choose. It is logged as an MLflow model
taking raw uint8 28x28 images, registered as a new version (once per winning trial), given the
alias `champion`, and written to `export.dir` as a .keras file, a TensorFlow SavedModel and a
model card.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src import cli, config, data, tracking
from src.errors import UserError
from src.model import OBJECTIVE

log = logging.getLogger("export")


class ExportError(UserError):
    """Nothing to export, or an export that cannot proceed."""


@dataclass
class Candidate:
    run_id: str
    job: str
    loss: str
    trial_id: str
    params: dict
    val_accuracy: float
    val_loss: float
    started: int  # the run's start time, last tie-breaker
    test_accuracy: float | None = None


def leaderboard(candidates: list[Candidate], top: int) -> str:
    rows = [
        f"{'rank':>4}  {'job':<24} {'trial':>5}  {'hidden':>6} {'optimizer':<9} "
        f"{'lr':>9}  {OBJECTIVE:>12} {'val_loss':>8} {'test_acc':>8}"
    ]
    for rank, c in enumerate(candidates[:top], 1):
        test = "-" if c.test_accuracy is None else f"{c.test_accuracy:.4f}"
        rows.append(
            f"{rank:>4}  {c.job[:24]:<24} {c.trial_id:>5}  "
            f"{c.params.get('hidden_units', '?'):>6} {c.params.get('optimizer', '?'):<9} "
            f"{float(c.params.get('learning_rate', 'nan')):>9.3g}  "
            f"{c.val_accuracy:>12.4f} {c.val_loss:>8.4f} {test:>8}"
        )
    return "\n".join(rows)


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, names) -> dict[str, float]:
    return {name: float((y_pred[y_true == k] == k).mean()) for k, name in enumerate(names)}


def model_card(
    winner: Candidate,
    dataset: data.Dataset,
    per_class: dict,
    test_loss: float,
    version: tracking.ModelVersion,
    job: dict,
    export_dir: Path,
) -> dict:
    return {
        "model": version.name,
        "version": version.version,
        "alias": version.alias,
        "model_uri": f"models:/{version.name}@{version.alias}",
        "task": "softmax classification of 28x28 grayscale images into 10 classes",
        "data": {
            "name": dataset.name,
            "source": dataset.source,
            "train_images": len(dataset.x_train),
            "validation_images": len(dataset.x_val),
            "test_images": len(dataset.x_test),
        },
        "input": "raw uint8 images, shape (n, 28, 28), pixels 0-255 (scaling is in the model)",
        "output": "class probabilities, shape (n, 10), in the order of class_names",
        "class_names": list(dataset.class_names),
        "loss": winner.loss,
        "hyperparameters": winner.params,
        "validation_accuracy": winner.val_accuracy,
        "validation_loss": winner.val_loss,
        "test_accuracy": winner.test_accuracy,
        "test_loss": test_loss,
        "per_class_test_accuracy": per_class,
        "chosen_by": f"highest {OBJECTIVE} (ties: lower val_loss); test metrics not used",
        "run_ids": {"trial": winner.run_id, "job": job["run_id"]},
        "job": winner.job,
        "sweep_id": job["sweep_id"],
        "files": sorted(p.name for p in export_dir.iterdir()),
    }


def card_markdown(card: dict) -> str:
    per_class = "\n".join(
        f"| {name} | {acc:.4f} |" for name, acc in card["per_class_test_accuracy"].items()
    )
    params = ", ".join(f"{k}={v}" for k, v in card["hyperparameters"].items())
    return f"""# {card["model"]} v{card["version"]} (@{card["alias"]})

{card["task"].capitalize()}: Fashion-MNIST's clothing classes, {card["loss"]} cross-entropy.

- **Data**: {card["data"]["name"]} ({card["data"]["source"]}); {card["data"]["train_images"]} training,
  {card["data"]["validation_images"]} validation, {card["data"]["test_images"]} test images.
- **Hyperparameters**: {params}.
- **Validation accuracy**: {card["validation_accuracy"]:.4f} (val_loss {card["validation_loss"]:.4f}):
  {card["chosen_by"]}.
- **Test accuracy**: {card["test_accuracy"]:.4f} (test_loss {card["test_loss"]:.4f}).
- **Runs**: trial run `{card["run_ids"]["trial"]}` of job run `{card["run_ids"]["job"]}`
  ({card["job"]}), sweep `{card["sweep_id"]}`.
- **Input**: {card["input"]}. **Output**: {card["output"]}.

| class | test accuracy |
|---|---:|
{per_class}

## Loading it

```python
import mlflow, keras, tensorflow as tf
model = mlflow.pyfunc.load_model("{card["model_uri"]}")   # MLflow (tracking URI set)
probabilities = model.predict(images)                      # images: uint8 (n, 28, 28)
model = keras.models.load_model("model.keras")             # Keras, from this folder
serving = tf.saved_model.load("saved_model")               # TensorFlow Serving's format
probabilities = serving.serve(tf.constant(images))
```

Serve it: `mlflow models serve -m "{card["model_uri"]}" --env-manager local`, then POST
`{{"inputs": <images as nested lists>}}` to `/invocations`.
"""


def run_export(cfg) -> tracking.ModelVersion:
    """Select, evaluate, register and write the winner; prints the leaderboard."""
    import keras

    config.validate(cfg)
    tracking.check_reachable(cfg.tracking.uri, must_exist=True)
    ex = cfg.export
    candidates = [
        Candidate(**row)
        for row in tracking.finished_trials(
            cfg.tracking.uri, cfg.tracking.experiment, ex.sweep_id, ex.loss
        )
    ]
    if not candidates:
        scope = " and ".join(
            filter(
                None,
                [
                    f"sweep {ex.sweep_id}" if ex.sweep_id else "",
                    f"loss {ex.loss}" if ex.loss else "",
                ],
            )
        )
        raise ExportError(
            f"export: no FINISHED trial in experiment {cfg.tracking.experiment!r}"
            f"{' for ' + scope if scope else ''} of {cfg.tracking.uri}; run a "
            "sweep first (make sweep) or check export.sweep_id / export.loss"
        )
    # Highest val_accuracy; ties: lower val_loss, then the earlier run (a stable choice).
    ordered = sorted(candidates, key=lambda c: (-c.val_accuracy, c.val_loss, c.started))
    # The winner's own data set and split, as its job recorded them.
    job = tracking.job_of(cfg.tracking.uri, ordered[0].run_id)
    params = job["params"]
    limit = None if params.get("data_limit", "all") == "all" else int(params["data_limit"])
    dataset = data.load(
        params.get("data", cfg.data.name),
        int(params.get("seed", cfg.train.seed)),
        limit,
        float(params.get("val_fraction", cfg.data.val_fraction)),
        cfg.data.dir,
        cfg.data.system_dir,
        cfg.data.url,
    )
    with tempfile.TemporaryDirectory() as tmp:
        winner = ordered[0]
        for c in ordered[: ex.top]:  # test accuracy to show, never to choose
            path = tracking.download_artifact(
                cfg.tracking.uri, c.run_id, "model.keras", Path(tmp) / c.run_id
            )
            candidate = keras.models.load_model(path)
            predicted = candidate.predict(dataset.x_test, batch_size=1024, verbose=0)
            c.test_accuracy = float((predicted.argmax(1) == dataset.y_test).mean())
            if c is winner:
                model, probs = candidate, predicted
        print(leaderboard(ordered, ex.top))
        test_accuracy = winner.test_accuracy
        test_loss = float(
            -np.log(np.clip(probs[np.arange(len(probs)), dataset.y_test], 1e-7, 1)).mean()
        )
        version = tracking.register_champion(
            cfg.tracking.uri,
            cfg.tracking.experiment,
            ex.name,
            ex.alias,
            winner.run_id,
            model,
            dataset.x_test[:5],
            {
                "job": winner.job,
                "loss": winner.loss,
                **winner.params,
                OBJECTIVE: winner.val_accuracy,
                "test_accuracy": test_accuracy,
            },
        )
        out = Path(ex.dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / winner.run_id / "model.keras", out / "model.keras")
        if (out / "saved_model").exists():
            shutil.rmtree(out / "saved_model")
        model.export(str(out / "saved_model"), verbose=False)
        per_class = per_class_accuracy(dataset.y_test, probs.argmax(1), dataset.class_names)
        card = model_card(
            winner,
            dataset,
            per_class,
            test_loss,
            version,
            job,
            out,
        )
        card["files"] = sorted({*card["files"], "model_card.md", "model_card.json"})
        (out / "model_card.json").write_text(json.dumps(card, indent=2))
        (out / "model_card.md").write_text(card_markdown(card))
    print(
        f"\nchampion: models:/{version.name}@{version.alias} (version {version.version}"
        f"{', already registered' if not version.created else ''}); files in {out}"
    )
    return version


def main(overrides: list[str] | None = None) -> None:
    from src.runtime import import_tensorflow

    cfg = cli.compose(sys.argv[1:] if overrides is None else overrides)
    import_tensorflow()
    import keras

    keras.utils.disable_interactive_logging()  # MLflow's input-example check would draw bars
    run_export(cfg)


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
