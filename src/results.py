"""`python -m src.results [overrides] [sweep=ID|latest]`: a store's trials as CSV on stdout,
one row per trial (`src.api.load_results`, the Python API's function).

    python -m src.results                                  # every trial of the default store
    python -m src.results sweep=latest > trials.csv        # the newest sweep's
    python -m src.results tracking.uri=http://127.0.0.1:5000 sweep=20261124-...
"""

from __future__ import annotations

import sys

from src import api, cli


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sweeps = [a.split("=", 1)[1] for a in args if a.startswith("sweep=")]
    cfg = cli.compose([a for a in args if not a.startswith("sweep=")])
    frame = api.load_results(cfg.tracking.uri, cfg.tracking.experiment, (sweeps or [None])[-1])
    frame.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
