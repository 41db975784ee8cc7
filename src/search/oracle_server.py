"""keras-tuner's gRPC oracle service, served by a distributed search's chief.

keras-tuner has no public API for serving its oracle on an address of our choosing (its own
`start_server` reads the address from environment variables and blocks until the search ends);
the private pieces come from src/search/kt_private.py.
"""

from __future__ import annotations

from src.errors import DistributedError
from src.search import kt_private


class OracleServer:
    """keras-tuner's `OracleServicer` for `oracle` on `host:port` (0: any free port)."""

    def __init__(self, oracle, host: str, port: int):
        from concurrent import futures

        import grpc

        servicer, add_to_server, self._exit_chief = kt_private.oracle_service()
        kt_private.quiet()
        self.oracle = oracle
        self.servicer = servicer(oracle)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        add_to_server(self.servicer, self.server)
        try:
            bound = self.server.add_insecure_port(f"{host}:{port}")
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
