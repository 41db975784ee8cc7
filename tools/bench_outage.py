"""The bench's outage row: the same sweep against a local `mlflow server`, once with the server
up throughout and once with it stopped `after` seconds in and started again `seconds` later
(down longer than that: the server takes a few seconds to start). The difference of their
wall times is what the outage cost the search (the epochs are the same)."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path

from src.runtime import processes
from tools.bench_arms import Result, sweep


def _server(folder: Path, port: int, stack: ExitStack) -> None:
    args = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--workers", "1"]
    args += ["--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]
    url = f"http://127.0.0.1:{port}/health"
    stack.enter_context(processes.running(args, url, folder / "server.log", timeout=240))


def _mid_trial(url: str, experiment: str) -> bool:
    """Whether a RUNNING trial of `experiment` has an epoch in the store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return False
    runs = client.search_runs([found.experiment_id], "attributes.status = 'RUNNING'")
    return any("val_accuracy" in r.data.metrics and "trial_id" in r.data.tags for r in runs)


def outage_arms(
    work: Path, overrides: list[str], after: float = 20, seconds: float = 30
) -> tuple[Result, Result]:
    """(server up throughout, server stopped `after` s in for `seconds`) for the same sweep."""
    folder = work / "mlflow-server"
    folder.mkdir(parents=True)
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as server:
        _server(folder, port, server)
        steady = sweep(work, "server", [*overrides, "tracking.experiment=steady"], store=url)

        def outage() -> None:
            started = time.monotonic()
            while not _mid_trial(url, "outage") and time.monotonic() < started + 600:
                time.sleep(0.5)  # an epoch stored: the job is past its start-up
            time.sleep(max(0.0, after - (time.monotonic() - started)))
            server.close()  # stopped, with its workers
            time.sleep(seconds)
            _server(folder, port, server)

        down = sweep(
            work, "outage", [*overrides, "tracking.experiment=outage"], store=url, during=outage
        )
    return steady, down
