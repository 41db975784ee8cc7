"""`python -m src.export [overrides]`: the best trial -> Model Registry (alias champion) + files.

    python -m src.export                                  # best trial of the experiment
    python -m src.export export.sweep_id=20261124-...     # of one sweep
    python -m src.export export.loss=categorical          # of one loss
    mlflow models serve -m "models:/fashion_mnist_softmax@champion" --env-manager local

The work is `src.serving.export.run_export`.
"""

from __future__ import annotations

import sys

from src import cli
from src.serving.export import run_export


def main(overrides: list[str] | None = None) -> None:
    from src.runtime import import_tensorflow

    cfg = cli.compose(sys.argv[1:] if overrides is None else overrides)
    import_tensorflow()
    import keras

    keras.utils.disable_interactive_logging()  # MLflow's input-example check would draw bars
    run_export(cfg)


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
