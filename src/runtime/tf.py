"""How TensorFlow runs in a sweep's process: its threads, and its memory between trials.

A trial's model is freed when the trial ends, but TensorFlow keeps two things a traced training
step leaves behind: the gradient function `tf.custom_gradient` registers in the global gradient
registry (which holds the whole traced graph), and the functions registered in the eager
context. Measured: 6.9 MB per trial that never came back, so a 1,000-trial sweep would hold
7 GB. `trial_snapshot` records both registries before a trial and `release_trial` drops what the
trial added once it is over (measured: 0.2 MB per trial, i.e. noise).

TensorFlow has no public API to drop a registered gradient or an eager context's functions, so
`_registries` reaches into `tensorflow.python` (its only private use in this project). Should
those internals move, the release is skipped (a warning is logged once) rather than failing a
sweep; pyproject.toml pins tensorflow-cpu to the version this was measured on.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys

from src.runtime.imports import collection_paused, hidden

# Imported inside functions: TensorFlow and keras-tuner load here, once the config is checked;
# their internals are reached only where threads and memory are managed.

log = logging.getLogger(__name__)


def import_tensorflow(onednn: bool | None = None) -> None:
    """Import TensorFlow without the notices its C++ start-up writes straight to the standard
    error file (oneDNN, CPU features, absl): they bury the sweep's own output. A Python error
    during the import is still raised; TF_CPP_MIN_LOG_LEVEL=0 or 1 shows the notices.

    `onednn` (`train.onednn`): TensorFlow's oneDNN kernels on or off (None: as the environment
    says, TF_ENABLE_ONEDNN_OPTS, else on); read once, when TensorFlow loads."""
    if "tensorflow" in sys.modules:
        if onednn is not None and _onednn_enabled() != onednn:
            log.warning("train.onednn=%s ignored: TensorFlow already runs in this process", onednn)
        return
    if onednn is not None:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn else "0"
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1"):
        _import_without_extras()
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        _import_without_extras()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _onednn_enabled() -> bool:
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")


def _import_without_extras() -> None:
    """Import TensorFlow, whose Keras imports, when they are installed, scikit-learn for its
    scikit-learn wrappers (0.3 to 0.6 s of every job's start), matplotlib's pyplot for its
    image gallery and pandas to take data frames as input (0.7 s together, measured), and
    whose legacy Keras imports SciPy to recognise sparse matrices (0.1 s); each does without
    them when they are not installed. A job uses none of these (its pictures are drawn by its
    tracking process, its data are arrays): hidden for the import, then importable again."""
    with collection_paused(), hidden("sklearn", "matplotlib", "pandas", "scipy"):
        import tensorflow  # noqa: F401


def import_keras_tuner(bayesian: bool) -> None:
    """Import keras-tuner, which imports scikit-learn and SciPy's optimizers for its Bayesian
    tuner alone (1.0 s and 0.2 s of every job's start, measured; SciPy itself is hidden from
    TensorFlow's import too), and pandas for its scikit-learn tuner (0.3 s), which no sweep
    uses: hidden for the import (the first two unless the job's tuner is the Bayesian one),
    then importable again. A Bayesian tuner made later in the same process binds them then
    (`kt_private.bind_bayesian_dependencies`)."""
    if "keras_tuner" in sys.modules:
        return
    import_tensorflow()
    skipped = ("pandas",) if bayesian else ("pandas", "sklearn", "scipy", "scipy.optimize")
    with collection_paused(), hidden(*skipped):
        import keras_tuner  # noqa: F401


def threads() -> int:
    """The threads TensorFlow's operations run on in this process (set_threads, else its default:
    every core this process may use)."""
    import tensorflow as tf

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return tf.config.threading.get_intra_op_parallelism_threads() or cores or 1


def set_threads(threads: int) -> None:
    """Give TensorFlow `threads` threads (0: its default, all cores). Must run before TensorFlow
    executes its first operation; later calls in the same process are ignored with a warning."""
    if threads <= 0:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.warning("train.threads=%d ignored: TensorFlow already runs in this process", threads)


def _registries():
    """TensorFlow's gradient registry and eager context (internals: None if they move)."""
    try:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import ops

        return ops._gradient_registry._registry, context.context()
    except (ImportError, AttributeError) as exc:
        _internals_moved(f"{exc.__class__.__name__}: {exc}")
        return None, None


@functools.cache  # once per process and reason: it would repeat for every trial
def _internals_moved(reason: str) -> None:
    log.warning("trials' traced graphs are not freed: TensorFlow's internals moved (%s)", reason)


def trial_snapshot() -> tuple[set, set] | None:
    """The registries' contents before a trial (None where TensorFlow's internals moved)."""
    gradients, ctx = _registries()
    if gradients is None:
        return None
    return set(gradients), set(ctx.list_function_names())


def release_trial(snapshot: tuple[set, set] | None) -> None:
    """Free what TensorFlow keeps of a finished trial's traced graphs."""
    gradients, ctx = _registries()
    if snapshot is None or gradients is None:
        return
    gradients_before, functions_before = snapshot
    for name in set(gradients) - gradients_before:
        del gradients[name]
    gc.collect()  # the trial's graphs are unreachable now; freeing them unregisters most
    for name in set(ctx.list_function_names()) - functions_before:
        ctx.remove_function(name)
