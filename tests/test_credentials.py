"""A password never travels in a URI: shown redacted, refused with the way to log in instead."""

import pytest
from helpers import compose

from src.errors import TrackingError
from src.job import preflight
from src.tracking import redact, refuse_secrets_in_args


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://mlflow:PASSWORD@host/db", "postgresql://mlflow:***@host/db"),
        ("http://bob:p@ss:w@rd@host:5000/x", "http://bob:***@host:5000/x"),
        ("see https://a:b@h and http://c:d@i", "see https://a:***@h and http://c:***@i"),
        ("http://bob@host:5000", "http://bob@host:5000"),  # a user name is no secret
        ("sqlite:///mlruns/mlflow.db", "sqlite:///mlruns/mlflow.db"),
    ],
)
def test_redact_hides_passwords_only(text, shown):
    assert redact(text) == shown


def test_a_command_line_with_a_password_is_refused_naming_the_override():
    with pytest.raises(TrackingError) as refused:
        refuse_secrets_in_args(["-m", "+tracking.uri=postgresql://mlflow:S3cret@host/db"])
    message = str(refused.value)
    assert message.startswith("tracking.uri: postgresql://mlflow:***@host/db has a password")
    assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in message
    assert "S3cret" not in message
    refuse_secrets_in_args(["tracking.uri=http://127.0.0.1:5000", "loss=sparse"])  # no secret


def test_a_password_in_a_composed_uri_is_refused_at_the_door():
    cfg = compose("tracking.uri=http://bob:S3cret@host:5000")  # as from a config file
    with pytest.raises(TrackingError, match=r"^tracking.uri: http://bob:\*\*\*@host:5000 has"):
        preflight.plan(cfg)
