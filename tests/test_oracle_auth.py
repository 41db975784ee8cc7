"""The chief's oracle port admits only callers holding the job's token: keras-tuner's real oracle
service on loopback, over local credentials and over TLS with a certificate made here; a caller
without the token (or without the certificate) is refused and the oracle's trials are untouched.
"""

import os
from types import SimpleNamespace

import grpc
import keras_tuner
import pytest
from helpers import self_signed_certificate

from src.errors import DistributedError
from src.job import worker
from src.search import kt_private, oracle_auth
from src.search.oracle_server import OracleServer

TOKEN = oracle_auth.new_token()


def _oracle(folder):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=3, seed=1)
    oracle._set_project_dir(str(folder), "p")
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 8, 64)
    oracle.update_space(hp)
    return oracle


def _create_trial(channel):
    stub = kt_private.oracle_stub(channel)
    request = kt_private.service_messages().CreateTrialRequest(tuner_id="intruder")
    return stub.CreateTrial(request, timeout=10)


@pytest.mark.parametrize("tls", [False, True], ids=["loopback", "tls"])
def test_only_callers_with_the_token_reach_the_oracle(tmp_path, tls):
    cert, key = self_signed_certificate(tmp_path) if tls else (None, None)
    oracle = _oracle(tmp_path)
    server = OracleServer(oracle, "127.0.0.1", 0, TOKEN, cert, key)
    address = f"127.0.0.1:{server.port}"
    try:
        channels = {
            "no token": grpc.insecure_channel(address),
            "wrong token": oracle_auth.channel("127.0.0.1", server.port, "guess", cert),
        }
        if tls:  # the right token, but not trusting the chief's certificate: no handshake
            local = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
            both = grpc.composite_channel_credentials(
                local, grpc.access_token_call_credentials(TOKEN)
            )
            channels["no certificate"] = grpc.secure_channel(address, both)
        for why, channel in channels.items():
            with pytest.raises(grpc.RpcError) as refused:
                _create_trial(channel)
            expected = (
                grpc.StatusCode.UNAUTHENTICATED
                if why == "wrong token" or (why == "no token" and not tls)
                else grpc.StatusCode.UNAVAILABLE
            )
            assert refused.value.code() == expected, (why, refused.value)
            if why == "wrong token":  # what a worker turns into its one-line error
                assert worker._refused(RuntimeError("search failed")) is False
                try:
                    raise RuntimeError("search failed") from refused.value
                except RuntimeError as wrapped:
                    assert worker._refused(wrapped)
            assert oracle.trials == {}, why  # nothing created or changed
        trial = _create_trial(oracle_auth.channel("127.0.0.1", server.port, TOKEN, cert))
        assert trial.trial.trial_id and len(oracle.trials) == 1  # the worker's way in works
    finally:
        server.stop()


def test_an_oracle_port_off_loopback_without_tls_is_refused():
    d = SimpleNamespace(role="chief", token_file=None, tls_cert=None, tls_key=None)
    os.environ[oracle_auth.TOKEN_ENV] = TOKEN
    try:
        with pytest.raises(DistributedError, match=r"^distributed.tls_cert: .*0\.0\.0\.0"):
            oracle_auth.check(d, "0.0.0.0")
        oracle_auth.check(d, "127.0.0.1")  # loopback: local credentials and the token suffice
    finally:
        del os.environ[oracle_auth.TOKEN_ENV]


def test_a_chief_for_remote_workers_needs_a_private_token_file(tmp_path, monkeypatch):
    monkeypatch.delenv(oracle_auth.TOKEN_ENV, raising=False)
    d = SimpleNamespace(role="chief", token_file=None, tls_cert=None, tls_key=None)
    with pytest.raises(DistributedError, match=r"^distributed: .*SWEEP_ORACLE_TOKEN"):
        oracle_auth.check(d, "127.0.0.1")
    path = tmp_path / "oracle.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o644)
    d.token_file = str(path)
    with pytest.raises(DistributedError, match=r"^distributed.token_file: .*chmod 600"):
        oracle_auth.token(d)
    path.chmod(0o600)
    assert oracle_auth.token(d) == TOKEN
