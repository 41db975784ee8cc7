"""keras-tuner's gRPC oracle service, served by a distributed search's chief.

keras-tuner has no public API for serving its oracle on an address of our choosing (its own
`start_server` reads the address from environment variables and blocks until the search ends);
the private pieces come from src/search/kt_private.py. The port admits only callers holding
the job's token, over local credentials on loopback or TLS (src/search/oracle_auth.py).
"""

from __future__ import annotations

from src.errors import DistributedError
from src.search import kt_private, oracle_auth

# Imported inside functions: gRPC loads only in distributed mode.


class OracleServer:
    """keras-tuner's `OracleServicer` for `oracle` on `host:port` (0: any free port), for
    callers holding `token`; TLS with `tls_cert` and `tls_key` (required off loopback)."""

    def __init__(
        self,
        oracle,
        host: str,
        port: int,
        token: str,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ):
        from concurrent import futures

        import grpc

        servicer, add_to_server, self._exit_chief = kt_private.oracle_service()
        kt_private.quiet()
        self.oracle = oracle
        self.servicer = servicer(oracle)
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=1),
            interceptors=[oracle_auth.interceptor(token)],
        )
        add_to_server(self.servicer, self.server)
        credentials = oracle_auth.server_credentials(host, tls_cert, tls_key)
        try:
            bound = self.server.add_secure_port(f"{host}:{port}", credentials)
        except RuntimeError:
            bound = 0
        if not bound:
            raise DistributedError(
                f"distributed.chief: cannot listen on {host}:{port} (in use or not this "
                "host's address); choose another port"
            )
        self.host, self.port = host, bound
        self.server.start()

    def done(self) -> bool:
        """The oracle has said stop to a worker, and no worker holds a trial or is still asking
        (keras-tuner's own condition for the chief to exit)."""
        return self.servicer.stop_triggered and self._exit_chief(self.oracle)

    def stop(self) -> None:
        self.server.stop(grace=2).wait(5)
