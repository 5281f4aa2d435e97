"""When to ask for a task's status next: the SDK's backoff, or a sleep until the expected finish."""

from __future__ import annotations

from dataclasses import dataclass

SDK_MAX_INTERVAL = 5.0


def sdk_interval(step: int) -> float:
    """The official SDK's wait() sleeps for step 0, 1, 2, …: 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, …"""
    if step < 2:
        return 1.0
    return min(SDK_MAX_INTERVAL, float(2 ** ((step - 2) // 3 + 1)))


@dataclass(frozen=True)
class PollSchedule:
    """Seconds to wait before the next status query.

    Without an expected duration it backs off like the SDK. With one, it waits until `lead`
    seconds before the expected finish, then polls every `near_interval`; a single wait never
    exceeds `max_gap`, so a task that fails early (moderation, bad media) is noticed within it,
    and once the task is `overdue_grace` past its expected time it relaxes to `overdue_interval`
    to spare the account's query quota (20 per second).
    """

    expected_seconds: float | None = None
    lead: float = 2.0
    near_interval: float = 1.0
    max_gap: float = 15.0
    overdue_grace: float = 30.0
    overdue_interval: float = 5.0

    def delay(self, elapsed: float, polls: int) -> float:
        """`elapsed`: seconds since the task was submitted; `polls`: queries made so far (≥ 1)."""
        if self.expected_seconds is None:
            return sdk_interval(max(0, polls - 1))
        until_near = self.expected_seconds - self.lead - elapsed
        if until_near > 0:
            return min(until_near, self.max_gap)
        if elapsed > self.expected_seconds + self.overdue_grace:
            return self.overdue_interval
        return self.near_interval
