"""Every use of MLflow beyond its public API (`mlflow`, `mlflow.entities`, `MlflowClient`,
`mlflow.models`), in one place, each with why.

MLflow's client has no public call to read the login it would send to a server, nor to make a
request to the auth API's read-only endpoints with it (`mlflow.server.auth.client` imports the
whole server app), nor to sample system metrics into a run that is not the active one. These
modules may change in any release, so pyproject.toml pins mlflow to the version this was
written against (3.17.2): check each function when raising the pin (tests/test_auth_server.py
and tests/test_sweep.py's system metrics exercise them).
"""

from __future__ import annotations

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.


def host_creds(uri: str):
    """The login MLflow would send to the server at `uri`, read from its own variables
    (`MLFLOW_TRACKING_USERNAME`/`_PASSWORD`, `_TOKEN`) or `~/.mlflow/credentials`: `.host`,
    `.username`, `.password`, `.token`."""
    from mlflow.utils.credentials import get_default_host_creds

    return get_default_host_creds(uri)


def get(creds, endpoint: str, params: dict | None):
    """A GET of the server's REST `endpoint` with that login, MLflow's TLS settings and no
    retries; returns the `requests` response."""
    from mlflow.utils.rest_utils import http_request

    return http_request(creds, endpoint, "GET", max_retries=0, timeout=30, params=params)


def system_metrics_monitor(run_id: str, uri: str):
    """MLflow's sampler of CPU, memory, disk and network (`system/...` metrics) for `run_id`,
    not started; MLflow's public switch samples the active run only, and a job's trial runs
    are written through a client."""
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    return SystemMetricsMonitor(run_id, tracking_uri=uri)
