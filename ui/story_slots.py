"""A story's shots on a shared key take their turn in the visitor's own line, as single videos do
(ui/visitors.py), before they take a slot in the account's queue: a story of five shots holds
at most the visitor's share of the shared account at once."""

from __future__ import annotations

import asyncio

from client.slots import SlotQueue, Ticket

from .visitors import Turn, VisitorLines


class TurnThenSlot:
    """What client.pipeline.run_job holds as its ticket: first a turn in the visitor's line
    (waited for outside it while the line is full), then a slot in the account's queue."""

    def __init__(self, lines: VisitorLines, visitor: str, account: SlotQueue, key_id: str,
                 model: str, limit: int) -> None:
        self._lines, self._visitor = lines, visitor
        self._account, self._lane = account, (key_id, model, limit)
        self._turn: Turn | None = None
        self._slot: Ticket | None = None
        self._released = False

    @property
    def holds_slot(self) -> bool:
        return self._slot is not None and self._slot.holds_slot

    @property
    def position(self) -> int:
        """The place in the account's queue, or before that in the visitor's line."""
        if self._slot is not None:
            return self._slot.position
        if self._turn is not None:
            return max(1, self._turn.position)
        return max(1, self._lines.busy(self._visitor) - self._lines.at_once + 1)

    async def wait(self, timeout: float) -> bool:
        """Wait up to about `timeout` seconds for the next step; True once a slot is held."""
        if self._released:
            return False
        if self._turn is None:
            self._turn = self._lines.join(self._visitor)
            if self._turn is None:  # the visitor's line is full: wait outside it
                await asyncio.sleep(timeout)
                return False
        if self._slot is None:
            if not await self._turn.wait(timeout):
                return False
            self._slot = self._account.join(*self._lane)
        return await self._slot.wait(timeout)

    def release(self) -> None:
        """Give back the slot and the turn; safe to call more than once."""
        self._released = True
        for held in (self._slot, self._turn):
            if held is not None:
                held.release()


class VisitorSlots:
    """The account's slot queue as a story's shots of one visitor see it (StoryRun's `slots`)."""

    def __init__(self, account: SlotQueue, lines: VisitorLines, visitor: str) -> None:
        self._account, self._lines, self._visitor = account, lines, visitor

    def join(self, key_id: str, model: str, limit: int) -> TurnThenSlot:
        return TurnThenSlot(self._lines, self._visitor, self._account, key_id, model, limit)
