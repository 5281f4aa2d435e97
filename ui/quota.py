"""The per-visitor hourly cap on generations paid with the host's key."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 3600.0


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
