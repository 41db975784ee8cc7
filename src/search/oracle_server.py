"""keras-tuner's gRPC oracle service, served by a distributed search's chief.

keras-tuner has no public API for serving its oracle: this module is the one place that uses
its private `keras_tuner.src` modules for it (the version is pinned in pyproject.toml).
"""

from __future__ import annotations

from src.errors import DistributedError


def _quiet_keras_tuner() -> None:
    """keras-tuner 1.4's `Parent.to_proto` prints each conditional scope's first value (a
    left-over debug print) every time a space crosses gRPC; a module-level `print` shadows it."""
    from keras_tuner.src.engine import conditions

    conditions.print = lambda *args, **kwargs: None


class OracleServer:
    """keras-tuner's `OracleServicer` for `oracle` on `host:port` (0: any free port)."""

    def __init__(self, oracle, host: str, port: int):
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief

        _quiet_keras_tuner()
        self.oracle = oracle
        self._exit_chief = oracle_chief.exit_chief
        self.servicer = oracle_chief.OracleServicer(oracle)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
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
