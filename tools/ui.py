"""The MLflow UI: started on a local port, looked at with headless Chromium.

Used by the UI test and by `python -m tools.ui screenshot` (`make screenshots`), which makes the
README's pictures from the latest sweep in a store.
Chromium is Debian's (`apt-get install chromium`), driven with Playwright; it starts with
`--no-sandbox` (root in a container) and with background networking off, since this machine's
closed network refuses Chromium's own connections.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.runtime.processes import free_port, running
from src.tracking.addresses import experiment_address

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


@contextmanager
def mlflow_ui(uri: str, log: Path, timeout: float = 90) -> Iterator[str]:
    """`mlflow ui` on a free loopback port for `uri`; yields its address; stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    with running(
        [*args, "--host", "127.0.0.1", "--port", str(port)], f"{url}/health", log, timeout=timeout
    ):
        yield url


@contextmanager
def _page(timeout_ms: int):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=timeout_ms
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()


def _close_assistant(page) -> None:
    assistant = page.locator("button[aria-label=Close]")  # MLflow 3's chat panel
    if assistant.count():
        assistant.first.click()


def screenshot_runs(
    url: str,
    experiment_id: str,
    jobs: list[str],
    path: Path,
    timeout_ms: int = 60_000,
    address: str | None = None,
) -> tuple[list[str], str]:
    """Open the experiment's runs (at `address`, one a command printed, else the runs page),
    in a fresh browser profile as a newcomer's; expand each job run to show its trial runs,
    save a screenshot; returns the nested trial runs the page shows and the whole table's text
    (its Dataset and Source columns included)."""
    with _page(timeout_ms) as page:
        page.goto(address or f"{url}/#/experiments/{experiment_id}/runs")
        page.get_by_text(jobs[0], exact=False).first.wait_for()
        _close_assistant(page)
        for job in jobs:
            row = page.locator("[role=row]", has_text=job).first
            row.locator("button[data-component-id*=runnamecellrenderer]").click()
        page.get_by_text("trial-", exact=False).first.wait_for()
        trials = page.locator("[role=row]", has_text="trial-").all_inner_texts()
        table = "\n".join(page.locator("[role=row]").all_inner_texts())
        page.screenshot(path=str(path))
        return [text for text in trials if text.strip()], table


def page_text(address: str, expect: str, timeout_ms: int = 60_000) -> str:
    """The text of the page at `address` in a fresh browser profile, once `expect` shows."""
    with _page(timeout_ms) as page:
        page.goto(address)
        page.get_by_text(expect, exact=False).first.wait_for()
        return page.locator("body").inner_text()


def runs_at(address: str, first: str, path: Path, timeout_ms: int = 60_000) -> str:
    """The runs table `address` shows in a fresh browser profile, once run `first` is in it
    (its text; a screenshot saved to `path`)."""
    with _page(timeout_ms) as page:
        page.goto(address)
        page.get_by_text(first, exact=False).first.wait_for()
        _close_assistant(page)
        page.screenshot(path=str(path))
        return "\n".join(page.locator("[role=row]").all_inner_texts())


def screenshot_run(
    url: str,
    experiment_id: str,
    run_id: str,
    path: Path,
    system_metrics: bool = True,
    timeout_ms: int = 60_000,
) -> tuple[str, str]:
    """One run's page (its Source, Datasets, parameters) saved as a screenshot, then its System
    metrics tab (`system_metrics`: the run has some); returns the text of each."""
    with _page(timeout_ms) as page:
        # In the training view, as a run reached from the printed addresses shows.
        page.goto(
            f"{url}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
        )
        page.get_by_text("About this run").first.wait_for()
        page.get_by_text(re.compile(r"\([0-9a-f]{6,}\)")).first.wait_for()  # a digest: loaded
        _close_assistant(page)
        overview = page.locator("body").inner_text()
        page.screenshot(path=str(path), full_page=True)
        if not system_metrics:
            return overview, ""
        page.goto(
            f"{url}/#/experiments/{experiment_id}/runs/{run_id}/system-metrics"
            "?workflowType=machine_learning"
        )
        page.get_by_text("cpu_utilization_percentage").first.wait_for()
        return overview, page.locator("body").inner_text()


def main(argv: list[str] | None = None) -> None:
    """`python -m tools.ui screenshot`: the latest sweep of a store, seen in the MLflow UI."""
    import argparse
    import shutil
    import tempfile

    from mlflow.tracking import MlflowClient

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["screenshot"])
    parser.add_argument("--tracking-uri", default="sqlite:///mlruns/mlflow.db")
    parser.add_argument("--experiment", default="fashion_mnist")
    parser.add_argument("--out", default="docs", type=Path)
    args = parser.parse_args(argv)
    client = MlflowClient(tracking_uri=args.tracking_uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        sys.exit(
            f"error: tracking.experiment: no experiment {args.experiment!r} in "
            f"{args.tracking_uri}; run a sweep first (make sweep)"
        )
    jobs = client.search_runs(
        [experiment.experiment_id],
        "tags.run_kind = 'job'",
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    if not jobs:
        sys.exit(f"error: no sweep in {args.tracking_uri}; run one first (make sweep)")
    sweep = jobs[0].data.tags.get("sweep_id")
    jobs = [job for job in jobs if job.data.tags.get("sweep_id") == sweep]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with mlflow_ui(args.tracking_uri, Path(tmp) / "ui.log") as url:
            screenshot_runs(  # from the address `make ui` prints, as a newcomer starts
                url,
                experiment.experiment_id,
                sorted(job.info.run_name for job in jobs),
                args.out / "mlflow_ui.png",
                address=experiment_address(
                    args.tracking_uri, experiment.experiment_id, int(url.rsplit(":", 1)[1])
                ),
            )
            best = jobs[-1].data.tags["best_trial_run_id"]
            path = args.out / "mlflow_run.png"
            screenshot_run(url, experiment.experiment_id, best, path, system_metrics=False)
        for name in ("confusion_matrix.svg", "hyperparameters.svg"):
            shutil.copyfile(
                client.download_artifacts(jobs[-1].info.run_id, name, tmp), args.out / name
            )
    print(
        f"wrote {args.out}/mlflow_ui.png, mlflow_run.png, confusion_matrix.svg and "
        "hyperparameters.svg "
        f"from sweep {sweep}"
    )


if __name__ == "__main__":
    main()
