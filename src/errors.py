"""Errors a user can cause, reported as one line and a non-zero exit instead of a traceback.

The commands print them so themselves (src/cli.py `run_reporting_user_errors`, with Hydra told
to hand errors over). Plain exceptions, not Hydra's: the tracking process raises them too, and
imports nothing of Hydra (0.16 s of CPU).
"""


class UserError(Exception):
    """Something the user can fix: the message names the field and the fix."""


class ConfigError(UserError):
    """A config value out of range, of the wrong kind, or inconsistent with another."""


class DataError(UserError):
    """The data set is missing, corrupt or unreachable."""


class TrackingError(UserError):
    """The MLflow tracking store cannot be reached or used."""


class StateError(UserError):
    """Saved tuner state cannot be read."""


class JobFailed(Exception):
    """A job ran but could not finish its search (e.g. too many trials failed in a row)."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: runs are marked KILLED and state is kept for resuming."""


class DistributedError(UserError):
    """A distributed setting that cannot work (address, role)."""
