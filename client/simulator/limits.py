"""Account limits as the service applies them, per key (one key = one simulated account).

Chosen behaviour (the spec leaves the reject-or-queue question open; for the legacy models we
reject, as the rate-limit page says exceeding either limit "triggers throttling"; wan2.7 and kf2v
queue, the media spec's decision 15):
- Submissions: per key and model (the rate-limit table gives each model its own row; the
  values follow its family), at most ``Model.submit_per_second`` creates in any sliding 1 s
  window (429 Throttling.RateQuota), and at most ``Model.concurrent_tasks`` unfinished (PENDING or
  RUNNING) tasks (429 Throttling.AllocationQuota, in the usual wording of client.error_codes:
  waiting helps, unlike its free-quota wording). Refused submissions do not count. A model with
  ``queues_excess_tasks`` takes the task instead and keeps it PENDING until a slot frees.
- Status: per key, at most ``catalog.STATUS_QUERIES_PER_SECOND`` GET /tasks and GET /tasks/{id}
  calls in any sliding 1 s window (429 Throttling.RateQuota).
- Every 429 carries Retry-After: whole seconds until a slot frees (at least 1).
- Not simulated: the 100 QPS getPolicy limit and the free-tier quotas.
Switched off entirely with SimConfig(limits=False).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from .. import catalog
from ..catalog import Model

WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class Refusal:
    code: str  # Throttling.RateQuota / Throttling.AllocationQuota
    retry_after: int


class AccountLimits:
    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.clock = clock  # replaceable: tests freeze time to count a window exactly
        self._lock = threading.Lock()
        self._submits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._queries: dict[str, deque[float]] = defaultdict(deque)

    def _window_refusal(self, stamps: deque[float], allowed: int) -> Refusal | None:
        now = self.clock()
        while stamps and now - stamps[0] >= WINDOW_SECONDS:
            stamps.popleft()
        if len(stamps) >= allowed:
            wait = WINDOW_SECONDS - (now - stamps[0])
            return Refusal("Throttling.RateQuota", max(1, math.ceil(wait)))
        stamps.append(now)
        return None

    def admit_submit(
        self, account: str, model: Model, unfinished: int, seconds_until_one_finishes: float
    ) -> Refusal | None:
        """None to accept a create call (and count it), else why not."""
        if not self.enabled:
            return None
        with self._lock:
            if unfinished >= model.concurrent_tasks and not model.queues_excess_tasks:
                return Refusal(
                    "Throttling.AllocationQuota", max(1, math.ceil(seconds_until_one_finishes))
                )
            return self._window_refusal(self._submits[(account, model.id)], model.submit_per_second)

    def slot_frees_at(self, model: Model, dues: list[float]) -> float | None:
        """When a task admitted now may start, given the ends (`due`) of the account's
        unfinished tasks of the model; None: at once (a slot is free, or limits are off)."""
        if not self.enabled or len(dues) < model.concurrent_tasks:
            return None
        # Queued tasks start in the order they came, each in the slot the next task to end
        # frees: the new one takes the slot of the (n - c + 1)-th to end.
        return sorted(dues)[len(dues) - model.concurrent_tasks]

    def admit_query(self, account: str) -> Refusal | None:
        if not self.enabled:
            return None
        with self._lock:
            return self._window_refusal(self._queries[account], catalog.STATUS_QUERIES_PER_SECOND)
