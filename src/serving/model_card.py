"""The model card written beside an exported model: what it is, how it was chosen, how it scores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from src import data, tracking
from src.model import OBJECTIVE

if TYPE_CHECKING:
    from src.serving.candidates import Candidate


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
    refitted: dict | None = None,
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
        "trained_in": winner.precision,  # its layers' arithmetic while it trained
        "validation_accuracy": winner.val_accuracy,
        "validation_loss": winner.val_loss,
        # The champion's: the refit model's when there is one, else the searched model's.
        "test_accuracy": refitted["test_accuracy"] if refitted else winner.test_accuracy,
        "test_loss": test_loss,
        "searched_test_accuracy": winner.test_accuracy,
        "refit": refitted,
        "per_class_test_accuracy": per_class,
        "chosen_by": f"chosen by highest {OBJECTIVE} (ties: lower val_loss); test metrics not used",
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
- **Trained in**: {card["trained_in"]}{_precision_note(card)}.
- **Validation accuracy**: {card["validation_accuracy"]:.4f} (val_loss {card["validation_loss"]:.4f}):
  {card["chosen_by"]}.
- **Test accuracy**: {card["test_accuracy"]:.4f} (test_loss {card["test_loss"]:.4f}).{_refit_line(card)}
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


def _precision_note(card: dict) -> str:
    if card["trained_in"] != "bfloat16":
        return ""
    return " (Keras' mixed_bfloat16: its weights, this file and its scores are float32)"


def _refit_line(card: dict) -> str:
    refit = card.get("refit")
    if not refit:
        return ""
    return (
        f"\n- **Refit**: the searched model scored {card['searched_test_accuracy']:.4f}; this one "
        f"retrains its hyperparameters on training + validation images for {refit['epochs']} "
        f"epochs (refit run `{refit['run_id']}`)."
    )
