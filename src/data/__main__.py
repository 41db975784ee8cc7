"""`python -m src.data [data=mnist] [data.dir=...]`: fetch, verify and describe the data."""

from __future__ import annotations

from src.data.dataset import load_from_config
from src.data.sources import SPECS

# Imported inside functions: the commands' error handling loads when the command runs.


def main(overrides: list[str] | None = None) -> None:
    """`python -m src.data [data=mnist] [data.dir=...]`: fetch, verify and describe the data."""
    import sys

    from src import cli

    cfg = cli.compose(sys.argv[1:] if overrides is None else overrides)
    dataset = load_from_config(cfg.data, cfg.train.seed)
    print(
        f"{SPECS[dataset.name].title} from {dataset.source}: {len(dataset.x_train)} training, "
        f"{len(dataset.x_val)} validation, {len(dataset.x_test)} test images"
    )


if __name__ == "__main__":
    from src.cli import run_reporting_user_errors

    run_reporting_user_errors(main)
