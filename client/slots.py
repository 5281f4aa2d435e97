"""A local queue per key and model: jobs beyond the account's concurrent-task limit wait here,
visibly and in order, instead of being refused by the service with 429. In-process; one class
to swap for a shared semaphore when several processes use one key."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field


class Ticket:
    """One job's place in a lane: `position` 0 while it holds a slot, else 1, 2, … in line."""

    def __init__(self, lane: _Lane) -> None:
        self._lane = lane
        self._granted = asyncio.Event()
        self._released = False

    @property
    def holds_slot(self) -> bool:
        return self._granted.is_set() and not self._released

    @property
    def position(self) -> int:
        if self._granted.is_set():
            return 0
        try:
            return self._lane.waiting.index(self) + 1
        except ValueError:
            return 0

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a slot; True once this ticket holds one."""
        try:
            await asyncio.wait_for(self._granted.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def release(self) -> None:
        """Give the slot (or the place in line) back; safe to call more than once."""
        if self._released:
            return
        self._released = True
        self._lane.leave(self)


@dataclass
class _Lane:
    limit: int
    holders: set[Ticket] = field(default_factory=set)
    waiting: deque[Ticket] = field(default_factory=deque)

    def leave(self, ticket: Ticket) -> None:
        self.holders.discard(ticket)
        try:
            self.waiting.remove(ticket)
        except ValueError:
            pass
        self.promote()

    def promote(self) -> None:
        while self.waiting and len(self.holders) < self.limit:
            ticket = self.waiting.popleft()
            self.holders.add(ticket)
            ticket._granted.set()


class SlotQueue:
    """Lanes by (key identity, model). A key is known here only by a salted hash."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(16)
        self._lanes: dict[tuple[str, str], _Lane] = {}

    def key_id(self, api_key: str | None, kind: str) -> str:
        if api_key is None:
            return kind
        return hmac.new(self._salt, api_key.encode(), hashlib.sha256).hexdigest()[:16]

    def join(self, key_id: str, model: str, limit: int) -> Ticket:
        lane = self._lanes.setdefault((key_id, model), _Lane(limit=max(1, limit)))
        ticket = Ticket(lane)
        lane.waiting.append(ticket)
        lane.promote()
        return ticket

    def occupied(self, key_id: str, model: str) -> int:
        """Tickets of a lane holding a slot or waiting for one."""
        lane = self._lanes.get((key_id, model))
        return 0 if lane is None else len(lane.holders) + len(lane.waiting)
