"""The script users write today: keras-tuner's RandomSearch with `mlflow.tensorflow.autolog()`.

This is the benchmark's reference (arm "plain" of `python -m tools.bench`), written the way the
lesson and the libraries' own guides write it: Keras defaults (no `steps_per_execution`, the
fit batch size for validation), pixels scaled in NumPy, autolog's defaults (a model logged with
its inferred pip requirements after every fit, a flat run per trial). It searches the same space
as the project's default sweep, with the same hyperparameter names and order, so the same seed
samples the same configurations, and validates on the same images: the comparison is fair.

    python -m tools.baseline --trials 4 --epochs 3 --tracking-uri sqlite:////tmp/b/mlflow.db \
        --dir /tmp/b/kt --losses sparse,categorical

Comparing the two losses, it searches once per loss, one after the other, as such a script does.
"""

from __future__ import annotations

import argparse
import json
import time


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--dir", required=True, help="keras-tuner's working folder")
    parser.add_argument(
        "--losses",
        default="sparse",
        help="comma-separated: sparse (integer labels), categorical (one-hot)",
    )
    return parser.parse_args(argv)


def _data(limit: int | None, seed: int):
    """Scaled training and validation images: the sweep's validation images."""
    import keras

    from src.data import ensure_available, split

    ensure_available(
        "fashion_mnist",
        None,
        "/usr/share/datasets/fashion-mnist",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    )
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    train_idx, val_idx = split(len(x) if limit is None else limit, 0.1, seed)
    x = x / 255.0
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _build(hp, loss: str, batch_size: int):
    import keras

    # The project's default space in its declaration order (the model's entries, then the
    # training step's, tables last), so the same seed samples the same configurations.
    units = hp.Int("hidden_units", 32, 512, step=32)
    hp.Fixed("layers", 1)
    hp.Fixed("dropout", 0.0)
    hp.Fixed("l2", 0.0)
    hp.Fixed("batch_size", batch_size)
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    hp.Fixed("weight_decay", 0.0)
    with hp.conditional_scope("optimizer", ["adam"]):
        lr_adam = hp.Float("learning_rate_adam", 1e-4, 1e-2, sampling="log")
    with hp.conditional_scope("optimizer", ["sgd"]):
        lr_sgd = hp.Float("learning_rate_sgd", 1e-3, 0.5, sampling="log")
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate=lr_adam)
    else:
        opt = keras.optimizers.SGD(learning_rate=lr_sgd)
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    return model


def _search(args, loss: str, x_train, y_train, x_val, y_val) -> dict:
    """One loss's RandomSearch, autologged, as the plain script does it."""
    import keras
    import keras_tuner as kt

    if loss == "categorical":
        keras_loss = "categorical_crossentropy"
        labels = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_val, 10)
    else:
        keras_loss, labels = "sparse_categorical_crossentropy", (y_train, y_val)
    tuner = kt.RandomSearch(
        lambda hp: _build(hp, keras_loss, args.batch_size),
        objective="val_accuracy",
        max_trials=args.trials,
        seed=args.seed,
        directory=args.dir,
        project_name=loss,
        overwrite=True,
    )
    tuner.search(
        x_train,
        labels[0],
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(x_val, labels[1]),
        verbose=0,
    )
    best = tuner.oracle.get_best_trials(1)[0]
    return {
        "best_val_accuracy": best.score,
        "best_hyperparameters": best.hyperparameters.values,
        "trials": len(tuner.oracle.trials),
    }


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    started = time.perf_counter()
    import mlflow

    x_train, y_train, x_val, y_val = _data(args.limit, args.seed)
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("plain-script")
    mlflow.tensorflow.autolog()
    results = {
        loss: _search(args, loss, x_train, y_train, x_val, y_val) for loss in args.losses.split(",")
    }
    print(
        json.dumps(
            {
                "best_val_accuracy": max(r["best_val_accuracy"] for r in results.values()),
                "trials": sum(r["trials"] for r in results.values()),
                "train_images": len(x_train),
                "losses": results,
                "seconds": time.perf_counter() - started,
            }
        )
    )


if __name__ == "__main__":
    main()
