"""`model.fit`'s input pipeline: the training images reshuffled every epoch and batched in
tf.data, from tensors made once per fit.

Given NumPy arrays, Keras builds a general pipeline (it converts, slices and shuffles with
TensorFlow's default thread pool and prefetches). Here an epoch shuffles only the indices
(seeded, so reruns repeat) and gathers each batch's images in one operation on the training
thread itself (the other core runs the multirun's other job). Measured with two jobs in
parallel, 256 hidden units, batch 32, fused Adam: 1.62 s an epoch with Keras' pipeline, 1.17 s
with this one. The images, the batches and their sizes are the same; only the order of the
shuffle differs from Keras'. The validation images are scored at each epoch's end by a
callback (`_validation`).
"""

from __future__ import annotations

from typing import Any

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.


def pipelines(fit: dict[str, Any], seed: int) -> dict[str, Any]:
    """`model.fit`'s keyword arguments `fit` (NumPy `x`, `y`, `batch_size`, and optionally
    `validation_data`, `validation_batch_size`, `shuffle`) with the training data as a tf.data
    pipeline and the validation data as a first callback; every other argument is kept."""
    import tensorflow as tf

    fit = dict(fit)
    x, y = fit.pop("x"), fit.pop("y")
    batch_size = fit.pop("batch_size")
    val_batch = fit.pop("validation_batch_size", None) or batch_size
    shuffle = fit.pop("shuffle", True)
    images, labels = tf.constant(x), tf.constant(y)
    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    fit["x"] = _inline(
        order.batch(batch_size).map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
    )
    if fit.get("validation_data") is not None:  # scored by a callback that comes first
        x_val, y_val = fit.pop("validation_data")
        callbacks = list(fit.get("callbacks") or [])
        fit["callbacks"] = [_validation(x_val, y_val, val_batch), *callbacks]
    fit["shuffle"] = False  # the pipeline shuffles; Keras would only warn that it cannot
    return fit


def _validation(images, labels, batch_size: int):
    """A callback that puts `val_loss` and `val_accuracy` in each epoch's logs, for the
    callbacks after it (checkpoints, early stopping, the tuner, the history), as Keras' own
    validation does, but without tracing a test function for every new model: the images
    scored by calling the model batch by batch (src/model/scoring.py). Measured, a job of 12
    one-epoch trials on 18,000 images: 15.3 s with Keras' validation, 14.0 s this way."""
    import keras

    from src.model import scoring
    from src.model.precision import Float32View

    class Validation(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.float32 = Float32View(self.model)  # the model as it is saved and scored

        def on_epoch_end(self, epoch, logs=None):
            scores = scoring.score(self.float32.current(), images, labels, batch_size)
            if logs is not None:
                logs.update(val_loss=scores.loss, val_accuracy=scores.accuracy)

    return Validation()


def _inline(dataset):
    """`dataset` computed where the training step asks for a batch, with no thread of its own:
    no prefetching (neither ours nor tf.data's automatic one), no autotuning. On a CPU that
    the jobs keep busy, a prefetching thread gains nothing and the hand-overs between it and
    the training thread cost a lot (measured, two jobs in parallel, batch 32, fused Adam: 1.27
    and 2.55 s an epoch at 256 and 512 hidden units with prefetch(4), 1.17 and 1.94 s inline)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    options.experimental_optimization.inject_prefetch = False
    return dataset.with_options(options)
