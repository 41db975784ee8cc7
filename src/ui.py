"""`python -m src.ui [overrides]` (`make ui`): the MLflow UI on the configured SQLite store,
its address printed first: the experiment's runs in the training view, where a newcomer wants
to land (MLflow 3's own home page opens on its GenAI view). The address is opened in a
browser too where one can be (a desktop session).

    python -m src.ui                              # the default store, on port 5000
    python -m src.ui tracking.uri=sqlite:///other/mlflow.db ui.port=5001
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import webbrowser

from src import cli, tracking
from src.errors import TrackingError
from src.runtime import processes


def _address(uri: str, experiment: str, port: int) -> str:
    try:
        experiment_id = tracking.experiment_id_of(uri, experiment)
    except TrackingError:
        experiment_id = None  # no sweep yet: the UI's home page
    if experiment_id is None:
        return tracking.ui_base(uri, port)
    return tracking.experiment_address(uri, experiment_id, port)


def _open_when_up(address: str, port: int) -> None:
    """Open `address` in a browser once the UI answers, where a browser can be opened."""
    desktop = (
        sys.platform in ("darwin", "win32")
        or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
    )
    if desktop and processes.ready(f"http://127.0.0.1:{port}/health", 60, every=0.1):
        webbrowser.open(address)


def main(overrides: list[str] | None = None) -> None:
    args = sys.argv[1:] if overrides is None else overrides
    port = int(
        next((a.split("=", 1)[1] for a in args if a.startswith("ui.port=")), tracking.UI_PORT)
    )
    cfg = cli.compose([a for a in args if not a.startswith("ui.port=")])
    uri = cfg.tracking.uri
    if tracking.sqlite_path(uri) is None:
        raise TrackingError(
            f"tracking.uri: {uri} is a server, which serves its own UI: open "
            f"{tracking.ui_base(uri)} (make ui serves a SQLite store)"
        )
    address = _address(uri, cfg.tracking.experiment, port)
    print(f"MLflow UI for {uri}: {address}", flush=True)
    threading.Thread(target=_open_when_up, args=(address, port), daemon=True).start()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the UI, and this command
        subprocess.run(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            check=False,
            env=processes.tool_env(),
        )


if __name__ == "__main__":
    cli.run_reporting_user_errors(main)
