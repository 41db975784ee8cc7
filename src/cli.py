"""What the command-line entry points share: one-line user errors (and `compose`, the config).

A user's mistake (a misspelt option, a value of the wrong type, an unknown key, a missing data
file) is printed as one line naming the field and the fix, with exit code 2. Bugs keep their
tracebacks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

from src.config.compose import compose  # noqa: F401 - the commands' way to compose
from src.errors import JobFailed, UserError

# Imported inside functions: Hydra's and OmegaConf's errors and the tracking package load when a
# command fails or checks its arguments, not for `--help`.

USER_ERROR_EXIT = 2
JOB_FAILED_EXIT = 1


def one_line(exc: BaseException) -> str | None:
    """The one-line message for an error the user caused, or None for a bug."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, UserError | JobFailed):
        return str(exc)
    if isinstance(exc, MissingConfigException):
        missing = (exc.missing_cfg_file or "").strip("/")
        if "/" in missing and exc.options:
            group, option = missing.rsplit("/", 1)
            return f"{group}: {option!r} is not an option; choose one of {', '.join(exc.options)}"
        return str(exc).strip().splitlines()[0]
    if isinstance(exc, OverrideParseException) and (hint := _range_hint(str(exc))):
        return hint
    if isinstance(exc, ConfigCompositionException | OverrideParseException):
        cause = exc.__cause__
        if isinstance(cause, OmegaConfBaseException) and cause.full_key:
            reason = (cause.msg or str(cause)).strip().splitlines()[0]
            if cause.full_key.startswith("search.") and "Cannot merge" in reason:
                key = cause.full_key
                return (
                    f"{key}: the config has a mapping here (a table per value, or a range "
                    f"written as a mapping), which a list cannot be merged into; replace it "
                    f"whole: '~{key}' '+{key}=[...]', or set one row of a table: {key}.ROW=[...]"
                )
            if cause.full_key.startswith("search.") and "not in struct" in reason:
                return (
                    f"{cause.full_key}: not in this config's search space; to search it, add "
                    f"it with +{cause.full_key}=VALUE (checked against the model's arguments)"
                )
            if cause.full_key in _MOVED:
                return f"{cause.full_key}: moved to {_MOVED[cause.full_key]}"
            return f"{cause.full_key}: {reason}"
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        return " ".join(lines[:2])
    if isinstance(exc, OmegaConfBaseException) and exc.full_key:
        return f"{exc.full_key}: {(exc.msg or str(exc)).strip().splitlines()[0]}"
    return None


# Settings that moved, with where they went: a user's old command gets the new name.
_MOVED = {
    "train.batch_size": "search.batch_size (searchable like any hyperparameter: "
    "search.batch_size=64 or search.batch_size=[64,128])",
}


def _range_hint(message: str) -> str | None:
    """A search range written the old way (`int(32, 512, step=32)`, which Hydra reads as its
    own int() cast) or split by the shell (`int 32..512` unquoted)."""
    import re

    old = re.search(r"override '([\w.]+)=(int|float)\(", message)
    if old:
        key, kind = old.groups()
        return (
            f"{key}: Hydra reads {kind}(...) as its own cast; write a range as "
            f"'{key}={kind} MIN..MAX' (quoted), e.g. 'search.hidden_units=int 32..512 step 32'"
        )
    if re.search(r"\d\.\.[-\d]", message):
        return (
            "a search range has spaces: quote the whole override, e.g. "
            "'search.hidden_units=int 32..512 step 32'"
        )
    return None


def exit_code(exc: BaseException) -> int:
    return JOB_FAILED_EXIT if isinstance(exc, JobFailed) else USER_ERROR_EXIT


def fail(message: str, code: int = USER_ERROR_EXIT) -> NoReturn:
    from src.tracking.credentials import redact

    print(f"error: {redact(message)}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def run_reporting_user_errors(entry: Callable[[], object]) -> None:
    """Run a command, turning user errors into one line on stderr and exit code 2.

    Hydra prints errors itself unless HYDRA_FULL_ERROR is set; setting it hands them to us.
    A password in a URI on the command line is refused first, before Hydra writes its run
    folder (which would record it).
    """
    from src.tracking.credentials import refuse_secrets_in_args

    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        refuse_secrets_in_args(sys.argv[1:])
        entry()
    except Exception as exc:
        message = one_line(exc)
        if message is None:
            raise
        fail(message, exit_code(exc))
