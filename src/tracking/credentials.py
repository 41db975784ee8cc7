"""Secrets stay out of URIs: a password in a URI would be recorded by Hydra (the run folder's
`.hydra/` files, `job_status.json`), by MLflow (the job run's `config.yaml` and override tags)
and by every log that names the store. Credentials travel in MLflow's own environment
variables instead, which nothing records.

A URI with a password in it is refused, showing it redacted (`postgresql://mlflow:***@host/db`).
The sweep's entry point checks its command line before Hydra creates its run folder; the door
(src/job/preflight.py) checks the composed config too, for a URI written into a config file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from src.errors import TrackingError

# MLflow's standard variables for a tracking server's login (read by MLflow itself).
USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
HOW_TO_LOG_IN = f"set {USERNAME_ENV} and {PASSWORD_ENV} (or {TOKEN_ENV}) in the environment instead"

# scheme://user:password@ : the password is whatever lies between the first ':' after the
# user name and the last '@' before the host (a password may itself contain '@' or ':').
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)(?P<secret>[^/\s]*)@")


def redact(text: str) -> str:
    """`text` with the password of every URI in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m['head']}***@", text)


def has_secret(text: str) -> bool:
    return any(m["secret"] for m in _USERINFO.finditer(text))


def refuse_secret_in_uri(uri: str, field: str = "tracking.uri") -> None:
    """Raises TrackingError (shown redacted) when `uri` carries a password."""
    if has_secret(uri):
        raise TrackingError(
            f"{field}: {redact(uri)} has a password in it, which would be recorded in the run "
            f"folder and in MLflow; remove it and {HOW_TO_LOG_IN} instead (a database's password "
            "belongs to `mlflow server`, whose URI the sweep never sees)"
        )


def refuse_secrets_in_args(args: Iterable[str]) -> None:
    """A command line with a password in any URI is refused before anything reads or writes it:
    the override's name is shown, its URI redacted."""
    for arg in args:
        if has_secret(arg):
            name, sep, value = arg.partition("=")
            field = name.lstrip("+~") if sep else "command line"
            refuse_secret_in_uri(value if sep else arg, field)
