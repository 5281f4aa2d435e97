"""Faults on demand: armed on an instance (FaultPlan) or sent per request in a test header.

Header: ``X-Wan-Sim-Fault: <name>[;k=v[;k=v]]``, honoured only when SimConfig.test_faults is on.
``times=N`` in the header also arms the same fault for the next N-1 requests to the same route
(a burst). Names and their parameters:

- ``429``        429 Throttling.RateQuota (``code=`` another code, ``retry_after=`` s, default 1)
- ``500``        500 InternalError (``code=``, ``message=`` override)
- ``503``        503 ModelUnavailable (``code=``, ``message=`` override)
- ``slow``       answer normally after ``seconds=`` (default 2)
- ``drop``       close the connection without answering (the route never runs)
- ``lost-answer`` the route runs (a create makes its task, a cancel cancels), then the connection
  is closed without an answer: a reply lost on the way back
- ``malformed``  200 with a JSON body cut off half way
- ``fail``       (create) the task ends FAILED with ``code=`` (default InternalError), ``message=``
- ``expired-url`` (create, status or result) the video URL is already expired: 403 on download
- ``truncated``  (create or result) the video download breaks off half way
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

FAULT_HEADER = "X-Wan-Sim-Fault"
ROUTES = ("create", "status", "cancel", "list", "policy", "upload", "result")
FAULT_NAMES = (
    "429", "500", "503", "slow", "drop", "lost-answer", "malformed", "fail", "expired-url",
    "truncated",
)
# Faults that change what a route does rather than replacing its answer, and where they make sense.
_ROUTES_OF: dict[str, tuple[str, ...]] = {
    "fail": ("create",),
    "expired-url": ("create", "status", "result"),
    "truncated": ("create", "result"),
}


@dataclass(frozen=True)
class Fault:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    route: str | None = None  # None: any route the fault makes sense on

    def __post_init__(self) -> None:
        if self.name not in FAULT_NAMES:
            raise ValueError(
                f"{FAULT_HEADER}: unknown fault {self.name!r} (allowed: {', '.join(FAULT_NAMES)})"
            )
        if self.route is not None and self.route not in ROUTES:
            raise ValueError(
                f"fault route: unknown route {self.route!r} (allowed: {', '.join(ROUTES)})"
            )

    def applies_to(self, route: str) -> bool:
        return (self.route is None or self.route == route) and route in _ROUTES_OF.get(
            self.name, ROUTES
        )

    def number(self, key: str, default: float) -> float:
        try:
            return float(self.params.get(key, default))
        except ValueError:
            raise ValueError(
                f"{FAULT_HEADER}: {key}={self.params[key]!r} must be a number"
            ) from None


def parse_fault(header_value: str) -> tuple[Fault, int]:
    """(fault, times) from a header value: ``429;times=3``, ``fail;code=DataInspectionFailed``."""
    name, *pairs = [part.strip() for part in header_value.split(";") if part.strip()] or [""]
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{FAULT_HEADER}: {pair!r} must look like key=value")
        params[key.strip()] = value.strip()
    times_text = params.pop("times", "1")
    if not times_text.isdigit() or int(times_text) < 1:
        raise ValueError(f"{FAULT_HEADER}: times={times_text!r} must be a whole number from 1")
    return Fault(name, params), int(times_text)


class FaultPlan:
    """Faults armed on one simulator; each fires `times` times (None: on every matching request)."""

    def __init__(self, faults: Iterable[Fault | tuple[Fault, int | None]] = ()) -> None:
        self._lock = threading.Lock()
        self._armed: list[list] = []  # [fault, remaining or None]
        for item in faults:
            fault, times = item if isinstance(item, tuple) else (item, None)
            self._armed.append([fault, times])

    def add(
        self, name: str, *, route: str | None = None, times: int | None = 1, **params: object
    ) -> Fault:
        fault = Fault(name, {k: str(v) for k, v in params.items()}, route)
        with self._lock:
            self._armed.append([fault, times])
        return fault

    def take(self, route: str) -> Fault | None:
        """The first armed fault for this route, used up by one firing."""
        with self._lock:
            for entry in self._armed:
                fault, remaining = entry
                if fault.applies_to(route):
                    if remaining is not None:
                        entry[1] -= 1
                        if entry[1] <= 0:
                            self._armed.remove(entry)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._armed)
