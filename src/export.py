"""`python -m src.export [overrides]`: the best trial -> Model Registry (alias champion) + files.

    python -m src.export                                  # best trial of the experiment
    python -m src.export export.sweep_id=20261124-...     # of one sweep
    python -m src.export export.loss=categorical          # of one loss
    mlflow models serve -m "models:/fashion_mnist_softmax@champion" --env-manager local

The work is `src.serving.champion.export_champion`, through `src.api.export` (the Python API's).
"""

from __future__ import annotations

import sys

from src import api, cli


def main(overrides: list[str] | None = None) -> None:
    api.export(sys.argv[1:] if overrides is None else overrides)


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
