"""The team's tracking server: `mlflow server --app-name basic-auth`, started here on loopback
(a SQLite store: the PostgreSQL one is tests/test_distributed_server.py's), its admin and users
made through MLflow's own auth client, the default permission NO_PERMISSIONS as in the README.

A writer sweeps (with a local worker, through the token-guarded oracle) and exports; no login, a
wrong password and a reader are refused at start in one line with no run written; a password
put in the URI is refused before Hydra writes anything. The writer's password, the oracle's
token and the password in the URI are then looked for in the store, the run folders, the
exports, stdout and stderr: found nowhere.
"""

import os
import secrets
import sys
from pathlib import Path
from unittest import mock

import pytest
from helpers import TINY, assert_each_trial_once, job_and_trial_runs, one_line_error, run_cli

from src.runtime import processes

# One module-scoped server/sweep, shared by its tests: they run on one pytest-xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("auth_server")]

ADMIN_PASSWORD = f"admin-{secrets.token_hex(8)}"
# Planted: each must never be seen again, anywhere.
WRITER_PASSWORD = f"writer-{secrets.token_hex(8)}"
READER_PASSWORD = f"reader-{secrets.token_hex(8)}"
ORACLE_TOKEN = f"oracle-{secrets.token_hex(8)}"
EXPERIMENT = "team"


def _login(user: str, password: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password}


# Session-wide: the group's tests run on one xdist worker, but other modules' tests may come
# between them there, and a module-wide server would be started again after them.
@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The README's team server on a free loopback port: the admin from the environment,
    a writer (EDIT) and a reader (READ) on the experiment, nothing for anyone else."""
    folder = tmp_path_factory.mktemp("auth-server")
    (folder / "auth.ini").write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{folder / 'auth.db'}\n"
        "admin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth"]
    args += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    args += ["--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(folder / "auth.ini"),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    with processes.running(args, f"{url}/health", folder / "server.log", env=env, timeout=240):
        with mock.patch.dict(os.environ, _login("admin", ADMIN_PASSWORD)):
            from mlflow.server import get_app_client
            from mlflow.tracking import MlflowClient

            auth = get_app_client("basic-auth", tracking_uri=url)
            auth.create_user("writer", WRITER_PASSWORD)
            auth.create_user("reader", READER_PASSWORD)
            experiment = MlflowClient(url).create_experiment(EXPERIMENT)
            auth.grant_user_permission("writer", "experiment", experiment, "EDIT")
            auth.grant_user_permission("reader", "experiment", experiment, "READ")
        yield url, folder


def _as_admin(fn, *args):
    with mock.patch.dict(os.environ, _login("admin", ADMIN_PASSWORD)):
        return fn(*args)


def _run_count(url: str) -> int:
    jobs, trials = _as_admin(job_and_trial_runs, url, EXPERIMENT)
    return len(jobs) + len(trials)


def _assert_nowhere(secret: str, folders: list[Path], outputs: list[str]) -> None:
    for text in outputs:
        assert secret not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_a_writer_sweeps_and_exports_and_no_secret_is_recorded(server, tmp_path):
    url, store = server
    env = {**_login("writer", WRITER_PASSWORD), "SWEEP_ORACLE_TOKEN": ORACLE_TOKEN}
    common = [f"tracking.uri={url}", f"tracking.experiment={EXPERIMENT}"]
    sweep = run_cli(
        "src.sweep",
        *TINY,
        "tuner.max_trials=1",
        "distributed.workers=1",
        *common,
        f"tuner.dir={tmp_path / 'tuner'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        env=env,
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    jobs, trials = _as_admin(job_and_trial_runs, url, EXPERIMENT)
    assert len(jobs) == 1 and jobs[0].info.status == "FINISHED"
    assert_each_trial_once(trials, 1)
    assert trials[0].data.tags["tuner_id"] == "worker-0"  # through the guarded oracle port
    export = run_cli("src.export", *common, f"export.dir={tmp_path / 'exports'}", env=env)
    assert export.returncode == 0, export.stderr[-3000:]
    assert (tmp_path / "exports" / "model_card.md").is_file()
    for secret in (WRITER_PASSWORD, ORACLE_TOKEN):
        outputs = [sweep.stdout, sweep.stderr, export.stdout, export.stderr]
        _assert_nowhere(secret, [store, tmp_path], outputs)


@pytest.mark.parametrize(
    ("command", "login", "expected"),
    [
        ("src.sweep", {}, "tracking.uri: the MLflow server at .* asks for a login; set "),
        ("src.sweep", _login("writer", READER_PASSWORD), "refused the login of user 'writer'"),
        ("src.sweep", _login("reader", READER_PASSWORD), "'reader' has permission READ"),
        ("src.export", _login("reader", READER_PASSWORD), "'reader' has permission READ"),
    ],
    ids=["no login", "wrong password", "reader", "reader exports"],
)
def test_who_may_not_write_is_refused_at_start(server, tmp_path, command, login, expected):
    import re

    url, store = server
    before = _run_count(url)
    result = run_cli(
        command,
        *(TINY if command == "src.sweep" else ()),
        f"tracking.uri={url}",
        f"tracking.experiment={EXPERIMENT}",
        *([f"hydra.run.dir={tmp_path / 'run'}"] if command == "src.sweep" else ()),
        *([f"export.dir={tmp_path / 'exports'}"] if command == "src.export" else ()),
        env=login,
    )
    assert re.search(expected, one_line_error(result))
    assert _run_count(url) == before  # no run written
    assert not (tmp_path / "exports").exists()
    _assert_nowhere(READER_PASSWORD, [store, tmp_path], [result.stdout, result.stderr])


def test_a_password_in_the_uri_is_refused_before_hydra_writes_anything(server, tmp_path):
    url, _ = server
    planted = f"http://writer:{WRITER_PASSWORD}@{url.removeprefix('http://')}"
    result = run_cli("src.sweep", f"tracking.uri={planted}", f"hydra.run.dir={tmp_path / 'run'}")
    line = one_line_error(result)
    assert line.startswith(f"error: tracking.uri: http://writer:***@{url.removeprefix('http://')}")
    assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in line
    assert not (tmp_path / "run").exists()  # Hydra never started
    _assert_nowhere(WRITER_PASSWORD, [tmp_path], [result.stdout, result.stderr])
