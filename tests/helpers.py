"""Helpers the tests share: composing the real config, running the CLI, reading a store."""

import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from src import cli

ROOT = Path(__file__).resolve().parents[1]

# A budget that exercises every part in seconds: 2 trials x 1 epoch on 1,500 images.
TINY = ("data.limit=1500", "train.epochs=1", "tuner.max_trials=2")


def compose(*overrides: str):
    """The real config, composed by Hydra with `overrides`."""
    return cli.compose(list(overrides))


def run_cli(*args: str, timeout: float = 600, env: dict | None = None):
    """Run `python -m <args>` from the repository root; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def all_runs(uri: str, experiment: str | None = None):
    """Every run of the store, or of one experiment (by name)."""
    client = mlflow_client(uri)
    if experiment is None:
        ids = [e.experiment_id for e in client.search_experiments()]
    else:
        ids = [client.get_experiment_by_name(experiment).experiment_id]
    return client.search_runs(ids, max_results=10000)


def job_and_trial_runs(uri: str, experiment: str | None = None):
    runs = all_runs(uri, experiment)
    jobs = [r for r in runs if r.data.tags.get("run_kind") == "job"]
    trials = [r for r in runs if r.data.tags.get("run_kind") == "trial"]
    return jobs, trials


def assert_each_trial_once(trials, max_trials: int) -> None:
    """Exactly `max_trials` FINISHED trial runs, one per trial id, and none left RUNNING."""
    finished = Counter(t.data.tags["trial_id"] for t in trials if t.info.status == "FINISHED")
    assert len(finished) == max_trials and set(finished.values()) == {1}, finished
    assert not [t for t in trials if t.info.status == "RUNNING"]


def run_tiny_headline(store: str, folder: Path, *overrides: str, env: dict | None = None):
    """`-m loss=sparse,categorical` on the tiny budget into `store`; asserts it succeeded."""
    result = run_cli(
        "src.sweep",
        "-m",
        "loss=sparse,categorical",
        *TINY,
        *overrides,
        f"tracking.uri={store}",
        f"hydra.sweep.dir={folder / 'multirun'}",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def one_line_error(result) -> str:
    """The one `error: ...` line a refused command prints, with exit code 2."""
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    return lines[0]


def wait_until(predicate, timeout=180, interval=0.1):
    """The first truthy value of `predicate()`, polled until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def read_store(uri: str, sql: str, args: tuple = ()) -> list[tuple] | None:
    """The rows of a read-only query on a SQLite store, or None while it does not exist, has no
    tables yet or a writer holds its lock (opening it with MLflow from a test would write to it)."""
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    except sqlite3.OperationalError:
        return None
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()


def self_signed_certificate(folder: Path, *ips: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (and `ips`) and its key (PEM files in `folder`), as the
    README's `openssl req -x509` makes them for a chief."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chief")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", *ips)]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "oracle.crt", folder / "oracle.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def lan_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # sends nothing: picks the outgoing interface
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def svg_picture(path) -> bool:
    """Whether `path` is one of the pictures runs get: an SVG whose text is text (searchable,
    selectable), not glyphs drawn as paths."""
    text = Path(path).read_text()
    return text.startswith("<?xml") and "<svg" in text and "<text" in text


def project_folder(cfg) -> Path:
    """Where a job of `cfg` keeps its keras-tuner state."""
    from src.search import state

    key = state.search_key(cfg)
    return state.tuner_root(cfg.tuner.dir, cfg.tracking.uri) / state.project_name(cfg, key)
