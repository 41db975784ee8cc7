"""Whether this login may write to an experiment of an authenticated tracking server
(`mlflow server --app-name basic-auth`), found out at start without writing anything.

MLflow reads the login from its own variables (`MLFLOW_TRACKING_USERNAME` and
`MLFLOW_TRACKING_PASSWORD`, or `MLFLOW_TRACKING_TOKEN`, or `~/.mlflow/credentials`). Three
read-only requests prove write access:

1. `users/current`: the server knows this login (401: none given, or a wrong one; 404: the
   server has no authentication, and anyone who reaches it may write);
2. `experiments/get-by-name`: the experiment (404: the job will create it, which MLflow lets any
   user do, and makes its creator its manager; 403: no permission on it at all);
3. `users/permissions/get` for this user on that experiment: MLflow lets users ask about
   themselves; EDIT or MANAGE may write, READ or USE may not.

An admin may do anything. The REST paths are MLflow's auth API; its Python client
(`mlflow.server.auth.client`) imports the whole server app to make the same requests; the
requests go through src/tracking/mlflow_private.py.
"""

from __future__ import annotations

from src.errors import TrackingError
from src.tracking import mlflow_private
from src.tracking.credentials import HOW_TO_LOG_IN, PASSWORD_ENV, TOKEN_ENV, USERNAME_ENV

_CURRENT_USER = "/api/2.0/mlflow/users/current"
_EXPERIMENT = "/api/2.0/mlflow/experiments/get-by-name"
_PERMISSION = "/api/3.0/mlflow/users/permissions/get"
WRITERS = ("EDIT", "MANAGE")


def check_write_access(uri: str, experiment: str) -> None:
    """Raises TrackingError, in one line naming the cause and the fix, unless the login in the
    environment may write to `experiment` on the server at `uri` (or the server is open)."""
    creds = mlflow_private.host_creds(uri)
    login = bool((creds.username and creds.password) or creds.token)
    who = f"user {creds.username!r}" if creds.username and creds.password else "the token"
    status, body = _get(creds, _CURRENT_USER)
    if status == 404:  # no authentication on this server
        return
    if status == 401:
        if not login:
            raise TrackingError(
                f"tracking.uri: the MLflow server at {uri} asks for a login; {HOW_TO_LOG_IN}"
            )
        raise TrackingError(
            f"tracking.uri: the MLflow server at {uri} refused the login of {who} (wrong user "
            f"name, password or token); check {USERNAME_ENV} and {PASSWORD_ENV} ({TOKEN_ENV})"
        )
    _expect_ok(status, body, uri, "who is logged in")
    user = body["user"]
    if user.get("is_admin"):
        return
    status, body = _get(creds, _EXPERIMENT, experiment_name=experiment)
    if status == 404:  # created by the job, with this user as its manager
        return
    if status == 403:
        raise _no_write(uri, user["username"], experiment, "no permission")
    _expect_ok(status, body, uri, f"experiment {experiment!r}")
    status, body = _get(
        creds,
        _PERMISSION,
        username=user["username"],
        resource_type="experiment",
        resource_id=body["experiment"]["experiment_id"],
    )
    _expect_ok(status, body, uri, "this user's permission")
    permission = body.get("permission", "NO_PERMISSIONS")
    if permission not in WRITERS:
        raise _no_write(uri, user["username"], experiment, f"permission {permission}")


def _no_write(uri: str, username: str, experiment: str, has: str) -> TrackingError:
    return TrackingError(
        f"tracking.experiment: user {username!r} has {has} on experiment {experiment!r} at "
        f"{uri} and may not write to it; ask an admin of the server to grant EDIT "
        "(docs/team.md)"
    )


def _get(creds, endpoint: str, **params) -> tuple[int, dict]:
    try:
        response = mlflow_private.get(creds, endpoint, params or None)
    except Exception as exc:  # refused, reset, TLS: the server cannot be used
        raise TrackingError(
            f"tracking.uri: cannot reach the MLflow server at {creds.host} "
            f"({exc.__class__.__name__}); start it or check the address"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body if isinstance(body, dict) else {}


def _expect_ok(status: int, body: dict, uri: str, what: str) -> None:
    if status != 200:
        reason = str(body.get("message") or body.get("error_code") or f"HTTP {status}")
        raise TrackingError(
            f"tracking.uri: the MLflow server at {uri} would not say {what} "
            f"({reason.splitlines()[0][:200]})"
        )
