"""Every use of keras-tuner's private modules (`keras_tuner.src`), in one place.

keras-tuner's public API (`import keras_tuner`) has no switch for its debug output, no hook for
how it writes its state files, no way to serve its oracle on an address of our choosing, and
no way to give its gRPC client credentials;
each function below names what it needs and why. These modules may change in any release, so
pyproject.toml pins keras-tuner to the version this was written against (1.4.8): check each
function when raising the pin (tests/test_distributed.py, tests/test_resilience.py,
tests/test_state.py, tests/test_oracle_auth.py exercise them all).
"""

from __future__ import annotations

from collections.abc import Callable

# Imported inside functions: keras-tuner's private modules, SciPy and scikit-learn load only
# where each function needs them.


def quiet() -> None:
    """keras-tuner prints the traceback of every failed trial (`config.DEBUG`); each failed
    trial run carries it in MLflow instead (error.txt), and the job's summary lists the reasons.
    keras-tuner 1.4's `Parent.to_proto` also prints each conditional scope's first value (a
    left-over debug print) every time a space crosses gRPC; a module-level `print` shadows it."""
    from keras_tuner.src import config
    from keras_tuner.src.engine import conditions

    config.DEBUG = False
    conditions.print = lambda *args, **kwargs: None


def bind_bayesian_dependencies() -> None:
    """keras-tuner's Bayesian module binds scikit-learn and SciPy when it is imported, to None
    if they were missing then; where keras-tuner was imported without them
    (`runtime.import_keras_tuner`), bind them now."""
    from keras_tuner.src.tuners import bayesian

    if bayesian.sklearn is None or bayesian.scipy is None:
        import scipy
        import scipy.optimize
        import sklearn
        import sklearn.exceptions
        import sklearn.gaussian_process

        bayesian.sklearn, bayesian.scipy = sklearn, scipy


def route_state_files(save: Callable[[str, dict], object], load: Callable[[str], dict]) -> None:
    """Make keras-tuner write and read its state files (oracle, trials, tuner) with `save` and
    `load`: it calls `keras_tuner.src.utils.save_json`/`load_json` by module attribute."""
    from keras_tuner.src import utils

    utils.save_json = save
    utils.load_json = load


def oracle_service():
    """keras-tuner's gRPC oracle service: (`OracleServicer` class, the function that adds it to
    a grpc server, keras-tuner's condition for the chief to exit)."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    return (
        oracle_chief.OracleServicer,
        protos.get_service_grpc().add_OracleServicer_to_server,
        oracle_chief.exit_chief,
    )


def oracle_stub(channel):
    """keras-tuner's gRPC stub for its oracle service over `channel`."""
    from keras_tuner.src import protos

    return protos.get_service_grpc().OracleStub(channel)


def use_channel(client, channel) -> None:
    """Make keras-tuner's `OracleClient` (a worker's `tuner.oracle`) call the chief over
    `channel`: keras-tuner 1.4.8 opens `grpc.insecure_channel` in its constructor, which carries
    no credentials; it connects lazily, so replacing its stub before the first call means it
    never connects."""
    client.stub = oracle_stub(channel)


def service_messages():
    """keras-tuner's request messages for its oracle service (`protos.get_service()`)."""
    from keras_tuner.src import protos

    return protos.get_service()


def best_checkpoint(tuner, trial_id: str) -> str:
    """Where keras-tuner's `SaveBestEpoch` keeps a trial's best epoch (`_get_checkpoint_fname`):
    a trial's model file is made from it, and a resumed trial must not lose it."""
    return tuner._get_checkpoint_fname(trial_id)


def hyperband_plan(oracle) -> tuple[int, int]:
    """(trials, trial-epochs) a Hyperband oracle runs in all: in each of its iterations, bracket
    b runs rounds r = 0..b of `_get_size(b, r)` trials, each trained from the previous round's
    epochs to `_get_epochs(b, r)`. keras-tuner has no public way to ask (its `max_trials` does
    not say it): the progress line's time left needs it."""
    trials = epochs = 0
    for b in range(oracle._get_num_brackets()):
        for r in range(oracle._get_num_rounds(b)):
            size = oracle._get_size(b, r)
            start = oracle._get_epochs(b, r - 1) if r else 0
            trials, epochs = trials + size, epochs + size * (oracle._get_epochs(b, r) - start)
    iterations = oracle.hyperband_iterations
    return trials * iterations, epochs * iterations
