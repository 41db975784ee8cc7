"""What a trained model costs to serve: its parameters, its file's size, and the milliseconds it
takes to classify one image.

The latency is measured the same way for every trial, right after it trained, in the job's own
process: the saved model (float32, as its `.keras` file holds it) called in inference mode on
one image through one traced function, a few warm-up calls, then the median of up to
`LATENCY_CALLS` calls within `LATENCY_BUDGET` seconds. TensorFlow fixes its thread pools when
it starts, so the calls run on the job's threads (`train.threads`: 1 for the MLP sweeps, both
cores for the CNN's); each trial run records that count as `latency_threads`, and latencies are
compared only within a job (its Pareto front) or between jobs on the same threads. In a
multirun, a sibling job may be training on the other cores meanwhile: one image on one thread
took 0.21 to 0.32 ms for the 20 MLPs of sweep=loss_comparison, the fastest of each width
rising only from 0.21 ms (64 units) to 0.23 ms (448): for models this small the call's own
overhead is most of it, and `n_parameters` is the steadier cost.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.

LATENCY_CALLS = 50
LATENCY_BUDGET = 0.3  # seconds of timed calls at most, after the warm-up
WARM_UP = 5

# The cost metrics every finished trial run records, and what each is.
COST_METRICS = {
    "n_parameters": "weights in the model (Keras' count_params)",
    "latency_ms": "median ms to classify one image",
    "model_mb": "size of its .keras file (MB)",
}


def cost(model, saved: Path, threads: int) -> dict[str, float]:
    """`model`'s cost metrics (COST_METRICS) and the threads its latency was measured on;
    `saved` is its `.keras` file."""
    return {
        "n_parameters": int(model.count_params()),
        "latency_ms": latency_ms(model),
        "model_mb": saved.stat().st_size / 1e6,
        "latency_threads": threads,
    }


def latency_ms(model) -> float:
    """Median milliseconds for `model` to classify one image (float32, inference mode)."""
    import tensorflow as tf

    from src.model.precision import as_float32

    model = as_float32(model)
    spec = model.inputs[0]
    image = tf.zeros((1, *spec.shape[1:]), dtype=spec.dtype)
    classify = tf.function(lambda x: model(x, training=False))
    for _ in range(WARM_UP):  # the first call traces the function
        classify(image).numpy()
    times: list[float] = []
    deadline = time.perf_counter() + LATENCY_BUDGET
    while len(times) < LATENCY_CALLS and time.perf_counter() < deadline:
        start = time.perf_counter()
        classify(image).numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
