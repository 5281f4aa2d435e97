"""Who is asking, and how much one visitor may ask of a shared key (the host's or the demo's):
videos per hour, videos at once, and a short waiting line."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WINDOW_SECONDS = 3600.0


def visitor_of(request: Any, *, trust_proxy: bool) -> str:
    """The address a visitor's limits are counted by (a reload or a new session keeps it).

    Behind a proxy that appends the caller's address to X-Forwarded-For (a Space), its last entry
    is the one the proxy wrote; earlier ones come from the caller. Without such a proxy the whole
    header comes from the caller, and uvicorn (as Gradio runs it) even takes it for the peer's
    address when the peer is 127.0.0.1: so, unless `trust_proxy` says a proxy is there, every
    request that carries the header counts as one and the same visitor.
    """
    if request is None:
        return "unknown"
    headers = getattr(request, "headers", None)
    forwarded = (headers.get("x-forwarded-for", "") if headers is not None else "").strip()
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64] if trust_proxy else "forwarded"
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


class HourlyCap:
    """At most `limit` generations per visitor in any rolling hour (0 = no generations)."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}

    def take(self, visitor: str) -> float | None:
        """Count one generation; None if allowed, else the seconds until the next is allowed."""
        now = self._clock()
        starts = self._starts.setdefault(visitor, deque())
        while starts and now - starts[0] >= WINDOW_SECONDS:
            starts.popleft()
        if len(starts) >= self.limit:
            return WINDOW_SECONDS - (now - starts[0]) if starts else WINDOW_SECONDS
        starts.append(now)
        return None


class Turn:
    """One job's turn among its visitor's jobs: `position` 0 once it may go on, else 1, 2, …"""

    def __init__(self, line: _Line) -> None:
        self._line = line
        self._granted = asyncio.Event()
        self._done = False

    @property
    def position(self) -> int:
        if self._granted.is_set():
            return 0
        try:
            return self._line.waiting.index(self) + 1
        except ValueError:
            return 0

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the turn; True once it is this job's."""
        try:
            await asyncio.wait_for(self._granted.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def release(self) -> None:
        """The job ended (or gave up): the visitor's next job may go. Safe to call twice."""
        if self._done:
            return
        self._done = True
        self._line.leave(self)


@dataclass
class _Line:
    at_once: int
    going: set[Turn] = field(default_factory=set)
    waiting: deque[Turn] = field(default_factory=deque)

    def leave(self, turn: Turn) -> None:
        self.going.discard(turn)
        try:
            self.waiting.remove(turn)
        except ValueError:
            pass
        while self.waiting and len(self.going) < self.at_once:
            nxt = self.waiting.popleft()
            self.going.add(nxt)
            nxt._granted.set()


class VisitorLines:
    """Each visitor's jobs on a shared key: `at_once` go on (into the account's queue), at most
    `waiting` more wait behind them, and more than that are turned away. A visitor's 30 jobs so
    hold at most `at_once` places in the shared queue, and everyone else waits behind those only."""

    def __init__(self, at_once: int, waiting: int) -> None:
        self.at_once = max(1, at_once)
        self.waiting = max(0, waiting)
        self._lines: dict[str, _Line] = {}

    def join(self, visitor: str) -> Turn | None:
        """A turn for one more job, or None when this visitor's line is full."""
        line = self._lines.setdefault(visitor, _Line(self.at_once))
        if len(line.going) >= self.at_once and len(line.waiting) >= self.waiting:
            return None
        turn = Turn(line)
        if len(line.going) < self.at_once:
            line.going.add(turn)
            turn._granted.set()
        else:
            line.waiting.append(turn)
        return turn

    def busy(self, visitor: str) -> int:
        """Jobs this visitor has going or waiting."""
        line = self._lines.get(visitor)
        return 0 if line is None else len(line.going) + len(line.waiting)
