"""ASGI middleware in front of every route: records each request and applies injected faults."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..protocols import CREATE_PATHS
from .context import RequestRecord, Simulator
from .faults import FAULT_HEADER, Fault, parse_fault
from .responses import ApiRefusal, error, malformed_json
from .state import account_of

FAULT_SCOPE_KEY = "wan_sim_fault"
_ROUTE_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(rf"^/api/v1({'|'.join(map(re.escape, CREATE_PATHS))})/?$"), "create"),
    ("POST", re.compile(r"^/api/v1/tasks/[^/]+/cancel/?$"), "cancel"),
    ("GET", re.compile(r"^/api/v1/tasks/?$"), "list"),
    ("GET", re.compile(r"^/api/v1/tasks/[^/]+/?$"), "status"),
    ("GET", re.compile(r"^/api/v1/uploads/?$"), "policy"),
    ("POST", re.compile(r"^/oss/upload/?$"), "upload"),
    ("GET", re.compile(r"^/results/[^/]+$"), "result"),
)


def route_of(method: str, path: str) -> str | None:
    return next(
        (name for m, pattern, name in _ROUTE_PATTERNS if m == method and pattern.match(path)), None
    )


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    return next(
        (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == wanted), None
    )


def _account(scope: Scope) -> str | None:
    auth = _header(scope, "authorization") or ""
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    return account_of(key) if key else None


class Gate:
    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(scope["method"], scope["path"])
        started = time.time()
        fault: Fault | None = None
        recorded = False

        def record(status: int | None) -> None:
            # Before the first byte goes out, so a client never sees an answer not yet logged.
            nonlocal recorded
            if not recorded:
                recorded = True
                name = fault.name if fault else None
                entry = RequestRecord(
                    scope["method"], scope["path"], route, status, _account(scope), name, started
                )
                self.sim.record(entry)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(message["status"])
            await send(message)

        try:
            fault = self._choose_fault(scope, route)
            if fault is not None and fault.name in ("drop", "lost-answer"):
                record(None)  # logged before the client sees the connection close
            await self._serve(scope, receive, recording_send, fault)
        except ApiRefusal as refusal:
            await refusal.response()(scope, receive, recording_send)
        finally:
            record(None)  # the app ended without answering

    def _choose_fault(self, scope: Scope, route: str | None) -> Fault | None:
        if route is None:
            return None
        header = _header(scope, FAULT_HEADER) if self.sim.config.test_faults else None
        if header:
            try:
                fault, times = parse_fault(header)
            except ValueError as exc:
                raise ApiRefusal("InvalidParameter", str(exc)) from None
            if times > 1:
                self.sim.faults.add(fault.name, route=route, times=times - 1, **fault.params)
            return fault if fault.applies_to(route) else None
        return self.sim.faults.take(route) if len(self.sim.faults) else None

    async def _serve(self, scope: Scope, receive: Receive, send: Send, fault: Fault | None) -> None:
        if fault is None:
            await self.app(scope, receive, send)
            return
        try:
            if fault.name == "429":
                code = fault.params.get("code", "Throttling.RateQuota")
                response: Any = error(
                    code,
                    fault.params.get("message"),
                    status=429,
                    retry_after=fault.number("retry_after", 1),
                )
            elif fault.name in ("500", "503"):
                code = fault.params.get(
                    "code", "InternalError" if fault.name == "500" else "ModelUnavailable"
                )
                response = error(code, fault.params.get("message"), status=int(fault.name))
            elif fault.name == "malformed":
                response = malformed_json()
            elif fault.name == "drop":
                await _drop_connection(receive, send)
                return
            elif fault.name == "lost-answer":
                await self.app(scope, receive, _discard)  # the route does its work...
                await _drop_connection(receive, send)  # ...and its answer never leaves
                return
            else:
                if fault.name == "slow":
                    await asyncio.sleep(fault.number("seconds", 2.0))
                else:
                    scope[FAULT_SCOPE_KEY] = fault
                await self.app(scope, receive, send)
                return
        except ValueError as exc:
            raise ApiRefusal("InvalidParameter", str(exc)) from None
        await response(scope, receive, send)


async def _discard(message: Message) -> None:
    """A `send` that lets nothing out."""


async def _drop_connection(receive: Receive, send: Send) -> None:
    """Close the socket without a word, as a broken proxy would."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        transport.close()
        for _ in range(3):  # let the server see the connection gone before the app returns
            await asyncio.sleep(0)
        return
    # Not under uvicorn: promise a body and break off instead.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1000"), (b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"output":', "more_body": True})
    raise ConnectionAbortedError("dropped by the drop fault")
