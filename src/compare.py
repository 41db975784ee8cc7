"""`python -m src.compare SWEEP_A SWEEP_B [overrides]`: two sweeps side by side, and a verdict.

    python -m src.compare latest~1 latest                 # the newest sweep against the one before
    python -m src.compare 20261201-101500-ab12cd latest   # by id (a tag on each job run)
    python -m src.compare latest~1 latest tracking.uri=http://127.0.0.1:5000

Prints the comparison, writes it to `outputs/compare/<A>_vs_<B>/compare.md` and logs it to a
run of its own (`src.api.compare`, the Python API's function).
"""

from __future__ import annotations

import sys

from src import api, cli
from src.errors import UserError


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sweeps = [a for a in args if "=" not in a]
    if len(sweeps) != 2:
        raise UserError(
            f"compare: got {len(sweeps)} sweep(s) ({' '.join(sweeps) or 'none'}); name two, "
            "e.g. python -m src.compare latest~1 latest"
        )
    cfg = cli.compose([a for a in args if "=" in a])
    found = api.compare(*sweeps, cfg.tracking.uri, cfg.tracking.experiment)
    print(found.text)
    print(f"written to {found.path}; its run: {found.run}")


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
