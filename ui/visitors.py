"""Who is asking, and how much one visitor may ask of a shared key (the host's or the demo's):
videos per hour, videos at once, and a short waiting line."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from client.slots import SlotQueue, Ticket

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

    def take(self, visitor: str, count: int = 1) -> float | None:
        """Count `count` generations, all or none (a story's shots); None if allowed, else the
        seconds until that many are (a whole hour when more than the limit are asked for)."""
        now = self._clock()
        starts = self._starts.setdefault(visitor, deque())
        while starts and now - starts[0] >= WINDOW_SECONDS:
            starts.popleft()
        over = len(starts) + count - self.limit
        if over > 0:
            return WINDOW_SECONDS - (now - starts[over - 1]) if over <= len(starts) \
                else WINDOW_SECONDS
        starts.extend([now] * count)
        return None


# A visitor's turn: a place in that visitor's own lane (`position` 0 once it may go on).
Turn = Ticket


class VisitorLines:
    """Each visitor's jobs on a shared key: `at_once` go on (into the account's queue), at most
    `waiting` more wait behind them, and more than that are turned away. A visitor's 30 jobs so
    hold at most `at_once` places in the shared queue, and everyone else waits behind those only.
    The lanes are the slot queue's, one per visitor."""

    def __init__(self, at_once: int, waiting: int) -> None:
        self.at_once = max(1, at_once)
        self.waiting = max(0, waiting)
        self._lanes = SlotQueue()

    def join(self, visitor: str) -> Turn | None:
        """A turn for one more job, or None when this visitor's line is full."""
        if self.busy(visitor) >= self.at_once + self.waiting:
            return None
        return self._lanes.join(visitor, "", self.at_once)

    def busy(self, visitor: str) -> int:
        """Jobs this visitor has going or waiting."""
        return self._lanes.occupied(visitor, "")
