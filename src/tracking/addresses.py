"""Where a newcomer sees a store's runs: MLflow UI addresses, printed by the commands.

MLflow 3's UI opens an experiment on its GenAI view unless the address says otherwise (its own
toggle, kept in the browser, GenAI by default; the experiment's tags no longer decide), so
every address here asks for the training view (`workflowType=machine_learning`). A SQLite
store has no server: its addresses are those of `make ui` (`mlflow ui` on port 5000), with the
command that starts it; a tracking server's are its own.
"""

from __future__ import annotations

import urllib.parse

from src.tracking.store import sqlite_path

UI_PORT = 5000  # `make ui`'s
_TRAINING = "workflowType=machine_learning"


def ui_base(uri: str, port: int = UI_PORT) -> str:
    """The UI's address for a store: the server's (without credentials), else that of a local
    UI on `port`."""
    if uri.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return f"http://127.0.0.1:{port}"


def ui_command(uri: str) -> str | None:
    """How to start the UI a SQLite store's addresses need (None: a server serves them)."""
    if sqlite_path(uri) is None:
        return None
    if uri == "sqlite:///mlruns/mlflow.db":
        return "make ui"
    return f"mlflow ui --backend-store-uri {uri} --port {UI_PORT}"


def experiment_address(uri: str, experiment_id: str, port: int = UI_PORT) -> str:
    return f"{ui_base(uri, port)}/#/experiments/{experiment_id}/runs?{_TRAINING}"


def sweep_address(uri: str, experiment_id: str, sweep_id: str) -> str:
    """The job runs of one sweep (`sweep_id` tag), in the training view."""
    query = urllib.parse.quote(f"tags.sweep_id = '{sweep_id}'")
    return f"{experiment_address(uri, experiment_id)}&searchFilter={query}"


def run_address(uri: str, experiment_id: str, run_id: str) -> str:
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs/{run_id}"


def model_address(uri: str, name: str, version: str | int) -> str:
    return f"{ui_base(uri)}/#/models/{urllib.parse.quote(name)}/versions/{version}"


def where_to_look(uri: str, address: str) -> str:
    """One line for a command's end: the address, and the command that serves it if any."""
    start = ui_command(uri)
    return f"{address}" + (f"  (start the UI first: {start})" if start else "")
