"""Who may use the chief's oracle port: only this search's workers.

keras-tuner's chief and workers talk over a plain gRPC channel: anyone who reaches the port can
create, end or fail trials. Here every call must carry the chief's token (an `authorization:
Bearer` header, checked in constant time by a server interceptor before keras-tuner's service
sees the call), over a channel that keeps it private:

- on loopback (one machine, the default), gRPC's local credentials: the server accepts only
  connections from this machine, the token keeps out other users and processes on it;
- off loopback (several machines), TLS with the chief's certificate (`distributed.tls_cert`,
  `distributed.tls_key`; a worker trusts the same certificate). A chief listening off loopback
  without TLS is refused: the token would cross the network in clear.

The token: `SWEEP_ORACLE_TOKEN`, else `distributed.token_file` (readable by its owner only).
A local chief without either makes one per job and hands it to its workers in their environment;
for workers it submits through submitit (distributed.launcher=submitit_local), in a file only its
owner reads (`<run dir>/workers/oracle.token`, mode 600, removed when the search ends: a chief
killed outright leaves it there, and the next run overwrites it). It is never logged or tagged.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from src.errors import DistributedError

# Imported inside functions: gRPC loads only in distributed mode.

TOKEN_ENV = "SWEEP_ORACLE_TOKEN"
_HOW = (
    f"set {TOKEN_ENV} or distributed.token_file on the chief and every worker "
    "(make one: openssl rand -hex 32 > oracle.token; chmod 600 oracle.token)"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token(d, required: bool = True) -> str | None:
    """The shared token: `SWEEP_ORACLE_TOKEN`, else `distributed.token_file`.

    Raises:
        DistributedError: when `required` and neither gives one, or the file is readable by
            others (chmod 600) or cannot be read.
    """
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    if d.token_file:
        path = Path(d.token_file).expanduser()
        try:
            mode = path.stat().st_mode
            text = path.read_text().strip()
        except OSError as exc:
            raise DistributedError(
                f"distributed.token_file: cannot read {path} ({exc.strerror}); {_HOW}"
            ) from None
        if mode & 0o077:
            raise DistributedError(
                f"distributed.token_file: {path} may be read by other users; chmod 600 {path}"
            )
        if text:
            return text
    if required:
        raise DistributedError(f"distributed: the oracle port needs a shared token; {_HOW}")
    return None


def check(d, host: str) -> None:
    """At start: what a chief (listening on `host`) or a worker (connecting to `host`) needs."""
    token(d)
    if d.tls_cert and not Path(d.tls_cert).expanduser().is_file():
        raise DistributedError(f"distributed.tls_cert: no file {d.tls_cert}")
    serves = d.role == "chief" or d.launcher == "submitit_slurm"
    if serves and bool(d.tls_cert) != bool(d.tls_key):
        raise DistributedError(
            "distributed.tls_key: a chief needs both its certificate (distributed.tls_cert) "
            "and its key (distributed.tls_key)"
        )
    if d.tls_key and not Path(d.tls_key).expanduser().is_file():
        raise DistributedError(f"distributed.tls_key: no file {d.tls_key}")
    if not d.tls_cert and not is_loopback(host):  # 0.0.0.0 included: every interface
        _no_tls(host)


def _no_tls(host: str) -> None:
    raise DistributedError(
        f"distributed.tls_cert: the oracle port on {host} is reachable from other machines and "
        "needs TLS: give the chief distributed.tls_cert and distributed.tls_key, and each "
        "worker distributed.tls_cert (docs/team.md: several machines)"
    )


def server_credentials(host: str, tls_cert: str | None, tls_key: str | None):
    import grpc

    if tls_cert and tls_key:
        pair = (Path(tls_key).expanduser().read_bytes(), Path(tls_cert).expanduser().read_bytes())
        return grpc.ssl_server_credentials([pair])
    if not is_loopback(host):
        _no_tls(host)
    return grpc.local_server_credentials(grpc.LocalConnectionType.LOCAL_TCP)


def channel(host: str, port: int, secret: str, tls_cert: str | None):
    """A channel to the chief carrying `secret` on every call."""
    import grpc

    if tls_cert:
        base = grpc.ssl_channel_credentials(Path(tls_cert).expanduser().read_bytes())
    elif is_loopback(host):
        base = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
    else:
        _no_tls(host)
    call = grpc.access_token_call_credentials(secret)
    return grpc.secure_channel(f"{host}:{port}", grpc.composite_channel_credentials(base, call))


def interceptor(secret: str):
    """A gRPC server interceptor that refuses (UNAUTHENTICATED) every call without `secret`."""
    import grpc

    expected = f"Bearer {secret}".encode()

    def refuse(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "this oracle admits its workers only")

    refused = grpc.unary_unary_rpc_method_handler(refuse)

    class TokenInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            given = dict(details.invocation_metadata or ()).get("authorization", "")
            if hmac.compare_digest(str(given).encode(), expected):
                return continuation(details)
            return refused

    return TokenInterceptor()
