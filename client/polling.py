"""When to ask for a task's status next: the SDK's backoff, or an ETA-aware schedule that polls
densely only around the expected finish; and a pacer that keeps one account's status queries
under the service's quota however many tasks it watches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SDK_MAX_INTERVAL = 5.0
# The service allows 20 status queries per second per account; the rest is left for the
# page's own calls (task list, cancel) and for clock skew between the two ends.
STATUS_QUERIES_PER_SECOND = 16.0


def sdk_interval(step: int) -> float:
    """The official SDK's wait() sleeps for step 0, 1, 2, …: 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, …"""
    if step < 2:
        return 1.0
    return min(SDK_MAX_INTERVAL, float(2 ** ((step - 2) // 3 + 1)))


@dataclass(frozen=True)
class PollSchedule:
    """Seconds to wait before the next status query.

    Without an expected duration it backs off like the SDK. With one, it sleeps until `lead`
    seconds before the expected finish, then polls every `near_interval`; once the task runs
    past its expected time the interval grows with the overrun (`overrun_share` of it, at most
    `overdue_interval`), so a late task is still noticed within a small share of its lateness
    and a very late one spares the account's query quota. A single wait never exceeds
    `max_gap`, so a task that fails early (moderation, bad media) is noticed within it.
    """

    expected_seconds: float | None = None
    lead: float = 0.5
    near_interval: float = 0.25
    max_gap: float = 15.0
    overrun_share: float = 0.25
    overdue_interval: float = SDK_MAX_INTERVAL

    @classmethod
    def around(cls, expected_seconds: float | None, early_by: float | None = None
               ) -> PollSchedule:
        """The schedule for a task expected to take `expected_seconds`; `early_by`: how much
        sooner such tasks have ended lately. Dense polls start no earlier than that (never more
        than `lead` before): queries before any end is plausible spend the account's quota that
        tasks ending right then need."""
        if expected_seconds is None or early_by is None:
            return cls(expected_seconds)
        return cls(expected_seconds, lead=min(cls.lead, max(0.0, early_by)))

    def delay(self, elapsed: float, polls: int) -> float:
        """`elapsed`: seconds since the task was submitted; `polls`: queries made so far (≥ 1)."""
        if self.expected_seconds is None:
            return sdk_interval(max(0, polls - 1))
        until_near = self.expected_seconds - self.lead - elapsed
        if until_near > 0:
            return min(until_near, self.max_gap)
        overrun = elapsed - self.expected_seconds
        return min(self.overdue_interval, max(self.near_interval, overrun * self.overrun_share))


class QueryPacer:
    """Spaces the status queries of each account at least 1/`per_second` apart.

    Accounts are known by `WanClient.account` (a salted hash). Tasks submitted together expect
    to finish together; without the pacer their dense polls would add up past the quota.
    """

    def __init__(self, per_second: float = STATUS_QUERIES_PER_SECOND) -> None:
        self.spacing = 1.0 / per_second
        self._accounts: dict[str, list[float]] = {}  # account -> [next free moment, waiting]

    async def turn(self, account: str, now: Callable[[], float],
                   sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait for this account's next free moment to query, and take it."""
        current = now()
        entry = self._accounts.setdefault(account, [current, 0.0])
        due, waiting = entry
        if due < current or due > current + self.spacing * (waiting + 2):
            due = current  # an idle account, or a clock that jumped (tests' simulated time)
        entry[0] = due + self.spacing
        if len(self._accounts) > 10_000:
            self._accounts = {a: e for a, e in self._accounts.items()
                              if e[0] >= current or e[1] or a == account}
        if due <= current:
            return
        entry[1] += 1
        try:
            await sleep(due - current)
        finally:
            entry[1] -= 1
