"""How long a task is expected to take, learned from finished tasks by the service's own
timestamps (end_time − submit_time), so the studio's polling and download never skew it."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

from .request import VideoRequest
from .status import Succeeded, TaskStatus

KEEP_PER_SHAPE = 9  # recent tasks a guess is made from: the service's speed drifts over the day
SPREAD_FROM = 3  # runs of a shape before their spread says how early one may end


@dataclass(frozen=True)
class TaskShape:
    """What a task's render time depends on."""

    model: str
    resolution: str | None
    duration: int | None

    @classmethod
    def of(cls, req: VideoRequest) -> TaskShape:
        return cls(req.model, req.resolution, req.duration)


class EtaEstimator:
    """Expected seconds from submit to end, per task shape.

    The guess for a shape is the median of its recent tasks; for a shape not seen yet, the
    same model and resolution scaled to the clip length, else the same model, else `prior`.
    """

    def __init__(self, prior: float | None = None, keep: int = KEEP_PER_SHAPE) -> None:
        self.prior = prior
        self._keep = keep
        self._seen: dict[TaskShape, deque[float]] = {}

    def learn(self, shape: TaskShape, status: TaskStatus) -> float | None:
        """Record a finished task; its submit-to-end seconds, or None if it teaches nothing."""
        if not isinstance(status, Succeeded) or status.submit_time is None \
                or status.end_time is None:
            return None
        seconds = (status.end_time - status.submit_time).total_seconds()
        if seconds <= 0:
            return None
        self._seen.setdefault(shape, deque(maxlen=self._keep)).append(seconds)
        return seconds

    def expected(self, shape: TaskShape) -> float | None:
        exact = self._seen.get(shape)
        if exact:
            return statistics.median(exact)
        if shape.duration:
            per_second = [seconds / other.duration for other, runs in self._seen.items()
                          if other.model == shape.model and other.resolution == shape.resolution
                          and other.duration for seconds in runs]
            if per_second:
                return statistics.median(per_second) * shape.duration
        same_model = [s for other, runs in self._seen.items() if other.model == shape.model
                      for s in runs]
        if same_model:
            return statistics.median(same_model)
        return self.prior

    def early_by(self, shape: TaskShape) -> float | None:
        """How much earlier than expected a task of this shape has ended lately (median − the
        fastest recent run); None until a few runs of the shape are known."""
        exact = self._seen.get(shape)
        if not exact or len(exact) < SPREAD_FROM:
            return None
        return statistics.median(exact) - min(exact)
