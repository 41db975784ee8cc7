"""`release_trial`'s claim: without it TensorFlow's gradient registry and eager functions grow
with every trained model; with it they come back to where the trial started. Entries are
counted, not memory, so the check is deterministic."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from src import runtime
from src.runtime import tf as runtime_tf

pytestmark = pytest.mark.slow  # trains (tiny models on 64 images)

TRIALS = 3


@pytest.fixture(scope="module")
def tiny_trial():
    runtime.import_tensorflow()
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    y = np.arange(64) % 10

    def train_one():
        # A plain Keras softmax classifier (not the project's builder, whose parameters are
        # the search space's business): what TensorFlow keeps comes from the traced steps.
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=32, epochs=1, validation_data=(x, y), verbose=0)

    return train_one


def registries():
    gradients, ctx = runtime_tf._registries()
    assert gradients is not None, "TensorFlow's internals moved: release_trial does nothing"
    return set(gradients), set(ctx.list_function_names())


def test_released_trials_leave_nothing_and_unreleased_ones_pile_up(tiny_trial):
    tiny_trial()  # one-time registrations of the first model happen outside the count
    for _ in range(TRIALS):
        snapshot = runtime.trial_snapshot()
        tiny_trial()
        assert registries() != snapshot  # the trial did register something...
        runtime.release_trial(snapshot)
        gradients, functions = registries()
        assert gradients == snapshot[0]  # ...and all of it is gone again
        assert functions <= snapshot[1]

    grown = [registries()]
    for _ in range(TRIALS):
        tiny_trial()
        grown.append(registries())
    # Without the release, both registries grow with every model: what the release prevents.
    for before, after in itertools.pairwise(grown):
        assert len(after[0]) > len(before[0]) and len(after[1]) > len(before[1])


def test_tensorflow_is_imported_without_sklearn_pyplot_pandas_scipy_which_stay_importable():
    # Keras (and TensorFlow's legacy Keras: SciPy) import them when installed; a job needs
    # none: its start-up skips them (~1 s).
    # Imported with the cyclic collector paused, its objects frozen after (18% less CPU).
    names = ("sklearn", "matplotlib", "pandas", "scipy")
    code = (
        "import gc, sys; from src.runtime import import_tensorflow; import_tensorflow(); "
        f"print(*[name in sys.modules for name in {names}]); "
        "print(gc.isenabled(), gc.get_freeze_count() > 100_000); "
        "import sklearn, matplotlib.pyplot, pandas, scipy.sparse; "
        "print(sklearn.__name__, pandas.__name__, scipy.sparse.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [
        *["False"] * 4,
        "True",
        "True",
        "sklearn",
        "pandas",
        "scipy.sparse",
    ]


def test_keras_tuner_is_imported_without_sklearn_unless_bayesian_which_still_works():
    # A job with the random tuner loads neither scikit-learn, SciPy's optimizers nor pandas;
    # a Bayesian tuner made later in the same process binds the first two, and proposes
    # trials (its Gaussian process needs both).
    code = "\n".join(
        [
            "import sys, tempfile",
            "from src.runtime import import_keras_tuner",
            "import_keras_tuner(bayesian=False)",
            "seen = any(m in sys.modules for m in ('sklearn', 'scipy.optimize', 'pandas'))",
            "import keras_tuner as kt",
            "from src.search import kt_private",
            "kt_private.bind_bayesian_dependencies()",
            "hp = kt.HyperParameters(); hp.Float('x', 0, 1)",
            "o = kt.oracles.BayesianOptimizationOracle(objective=kt.Objective('y', 'max'),",
            "    max_trials=5, num_initial_points=2, hyperparameters=hp)",
            "o._set_project_dir(tempfile.mkdtemp(), 'p')",
            "for i in range(3):  # the third is the Gaussian process's proposal",
            "    t = o.create_trial(str(i)); o.update_trial(t.trial_id, {'y': float(i)})",
            "    t.status = 'COMPLETED'; o.end_trial(t)",
            "print('RESULT', seen, len(o.trials), t.status)",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["RESULT", "False", "3", "COMPLETED"]


@pytest.mark.parametrize("onednn", [True, False])
def test_train_onednn_decides_tensorflows_kernels_over_the_environment(onednn):
    # The MLP's config turns oneDNN off (faster small matrix products), the CNN's keeps it;
    # whatever TF_ENABLE_ONEDNN_OPTS the user's shell exports, the config decides.
    code = (
        f"from src.runtime import import_tensorflow; import_tensorflow(onednn={onednn}); "
        "from tensorflow.python.util import _pywrap_util_port as port; "
        "print(port.IsMklEnabled())"
    )
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0" if onednn else "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(onednn)]
