"""Distributed sweeps against a real `mlflow server` backed by PostgreSQL, with served artifacts.

PostgreSQL is Debian's (`apt-get install postgresql`, done by .ci/run); the test starts its own
cluster in a temporary folder on a free local port and stops it afterwards.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import (
    ROOT,
    TINY,
    assert_each_trial_once,
    job_and_trial_runs,
    mlflow_client,
    run_cli,
    self_signed_certificate,
    svg_picture,
)

from src.runtime import processes

# One module-scoped server/sweep, shared by its tests: they run on one pytest-xdist worker.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.xdist_group("distributed_server"),
]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as Debian's `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


# Session-wide: the group's tests run on one xdist worker, but other modules' tests may come
# between them there, and a module-wide server would be started again after them.
@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server on a free loopback port with a database `mlflow`; its URI."""
    import psycopg

    initdb, postgres_bin = _pg_bin("initdb"), _pg_bin("postgres")
    if not initdb or not postgres_bin:
        pytest.skip(
            "PostgreSQL is not installed: `make test` installs it as root (apt-get install "
            "postgresql)"
        )
    folder = Path(tempfile.mkdtemp(prefix="pg-"))  # not under pytest's root-only folder
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data_dir = folder / "data"
    subprocess.run(
        _as_postgres([initdb, "-D", str(data_dir), "-U", "mlflow", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    port = processes.free_port()
    args = [postgres_bin, "-D", str(data_dir), "-p", str(port), "-k", str(folder)]
    args += ["-c", "listen_addresses=127.0.0.1"]
    with open(folder / "postgres.log", "w") as log:
        proc = subprocess.Popen(
            _as_postgres(args), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = psycopg.connect(
                    host="127.0.0.1", port=port, user="mlflow", dbname="postgres", autocommit=True
                )
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "postgres.log").read_text()) from None
                time.sleep(0.5)
        conn.execute("CREATE DATABASE mlflow")
        conn.close()
        yield f"postgresql://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        processes.stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


# Session-wide: the group's tests run on one xdist worker, but other modules' tests may come
# between them there, and a module-wide server would be started again after them.
@pytest.fixture(scope="session")
def tracking_server(postgres, tmp_path_factory):
    """`mlflow server` on the PostgreSQL database, serving artifacts from a local folder."""
    folder = tmp_path_factory.mktemp("server")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", postgres]
    args += ["--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with processes.running(args, f"{url}/health", folder / "server.log", timeout=240):
        yield url


def check_through_server(url: str, experiment: str, max_trials: int, tmp_path: Path) -> set:
    """Every trial once, FINISHED, and every artifact readable through the server; returns the
    tuner ids that ran trials."""
    jobs, trials = job_and_trial_runs(url, experiment)
    assert len(jobs) == 1 and jobs[0].info.status == "FINISHED"
    assert_each_trial_once(trials, max_trials)
    client = mlflow_client(url)
    for run in [*jobs, *trials]:
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served, not a local path
    for trial in trials:
        path = client.download_artifacts(trial.info.run_id, "model.keras", str(tmp_path))
        assert Path(path).stat().st_size > 10_000
    picture = client.download_artifacts(jobs[0].info.run_id, "confusion_matrix.svg", str(tmp_path))
    assert svg_picture(picture)
    return {t.data.tags["tuner_id"] for t in trials}


def test_two_local_workers_against_a_postgres_backed_server(tracking_server, tmp_path):
    result = run_cli(
        "src.sweep",
        *TINY,
        "tuner.max_trials=4",
        "distributed.workers=2",
        f"tracking.uri={tracking_server}",
        "tracking.experiment=local_workers",
        f"tuner.dir={tmp_path / 'tuner'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tuner_ids = check_through_server(tracking_server, "local_workers", 4, tmp_path)
    assert tuner_ids == {"worker-0", "worker-1"}


def test_chief_and_workers_as_on_separate_hosts(tracking_server, tmp_path):
    """The README's several-machine commands, on one machine: the chief and two workers with
    nothing shared but the tracking server (each its own tuner folder), the oracle's token
    file and its certificate (TLS, as off loopback)."""
    port = processes.free_port()
    cert, key = self_signed_certificate(tmp_path)
    token = tmp_path / "oracle.token"
    token.write_text("a-token-made-with-openssl-rand\n")
    token.chmod(0o600)
    common = [*TINY, "tuner.max_trials=4", f"tracking.uri={tracking_server}"]
    common += ["tracking.experiment=separate_hosts", f"distributed.token_file={token}"]
    common.append(f"distributed.tls_cert={cert}")

    def start(name: str, *role: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "src.sweep",
                *common,
                *role,
                f"tuner.dir={tmp_path / name / 'tuner'}",
                f"hydra.run.dir={tmp_path / name / 'run'}",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"{name}.err", "w"),
        )

    chief = start(
        "chief",
        "distributed.role=chief",
        f"distributed.chief=127.0.0.1:{port}",
        f"distributed.tls_key={key}",
    )
    workers = [
        start(
            name,
            "distributed.role=worker",
            f"distributed.chief=127.0.0.1:{port}",
            f"distributed.tuner_id={name}",
        )
        for name in ("host-a", "host-b")
    ]
    try:
        codes = [p.wait(timeout=600) for p in [chief, *workers]]
    finally:
        for p in [chief, *workers]:
            p.kill()
    errors = {n: (tmp_path / f"{n}.err").read_text()[-2000:] for n in ("chief", "host-a", "host-b")}
    assert codes == [0, 0, 0], errors
    tuner_ids = check_through_server(tracking_server, "separate_hosts", 4, tmp_path)
    assert tuner_ids == {"host-a", "host-b"}  # both workers ran trials for the one chief
