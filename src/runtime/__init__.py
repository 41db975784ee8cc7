"""How the sweep's processes run: TensorFlow's threads and memory (`tf`), imports without a
library's unused extras (`imports`), helper processes (`processes`), signals (`signals`), files
replaced atomically (`files`), and the memory a block of training takes (`memory`)."""

from src.runtime.tf import (
    import_keras_tuner,
    import_tensorflow,
    release_trial,
    set_threads,
    threads,
    trial_snapshot,
)

__all__ = [
    "import_keras_tuner",
    "import_tensorflow",
    "release_trial",
    "set_threads",
    "threads",
    "trial_snapshot",
]
