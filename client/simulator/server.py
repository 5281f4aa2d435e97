"""The simulator's ASGI app and a uvicorn runner on a loopback port (in a background thread)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
import weakref
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from . import api, oss
from .context import RequestRecord, SimConfig, Simulator
from .faults import FaultPlan
from .gate import Gate
from .responses import ApiRefusal

__all__ = ["RunningSimulator", "SimConfig", "create_app", "start_simulator"]
API_PREFIX = "/api/v1"
STARTUP_TIMEOUT_SECONDS = 20.0


def create_app(config: SimConfig) -> FastAPI:
    """A DashScope-compatible app: the task API under /api/v1, /oss/upload and /results files."""
    data_dir = config.data_dir
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="wan-sim-"))
    sim = Simulator(config, data_dir)
    app = FastAPI(title="Wan simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = sim
    app.include_router(api.build_router(sim), prefix=API_PREFIX)
    app.include_router(oss.build_router(sim))
    app.add_middleware(Gate, sim=sim)

    async def refuse(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiRefusal)
        return exc.response()

    app.add_exception_handler(ApiRefusal, refuse)
    weakref.finalize(app, sim.worker.shutdown)
    if config.data_dir is None:
        weakref.finalize(app, shutil.rmtree, data_dir, True)
    return app


class RunningSimulator:
    """A simulator serving on a loopback port until stop()."""

    def __init__(
        self, app: FastAPI, server: uvicorn.Server, thread: threading.Thread, host: str, port: int
    ) -> None:
        self.app = app
        self.sim: Simulator = app.state.sim
        self.config: SimConfig = self.sim.config
        self.host, self.port = host, port
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + API_PREFIX
        self._server, self._thread = server, thread

    @property
    def faults(self) -> FaultPlan:
        """The instance's live fault plan: tests arm faults on it while it runs."""
        return self.sim.faults

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in the order they arrived."""
        return sorted(self.sim.requests, key=lambda r: r.at)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.sim.worker.shutdown()
        if self.config.data_dir is None:
            shutil.rmtree(self.sim.data_dir, ignore_errors=True)


def start_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator with uvicorn in a daemon thread; port 0 picks a free port."""
    app = create_app(config or SimConfig())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wan-simulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the simulator did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningSimulator(app, server, thread, host, bound_port)
