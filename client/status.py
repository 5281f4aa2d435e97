"""TaskStatus: the one status type that flows back from the service, parsed in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # the service writes "2025-09-25 11:07:28.590"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        return None


def format_time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)[:-3]


@dataclass(frozen=True)
class Usage:
    """What the task was billed for, normalised over the three family shapes."""

    seconds: float  # billed video seconds (`duration`, or `video_duration` on wan2.1)
    video_count: int = 1
    resolution: int | None = None  # SR: 480 / 720 / 1080 (absent on wan2.1)
    audio: bool | None = None  # wan2.6-i2v-flash only
    ratio: str | None = None  # wan2.1: "standard"
    raw: dict[str, Any] | None = None

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Usage | None:
        if not data:
            return None
        seconds = data.get("duration", data.get("output_video_duration", data.get("video_duration", 0)))
        sr = data.get("SR")
        return cls(
            seconds=float(seconds or 0),
            video_count=int(data.get("video_count", 1) or 1),
            resolution=int(sr) if sr not in (None, "") else None,
            audio=data.get("audio") if isinstance(data.get("audio"), bool) else None,
            ratio=data.get("video_ratio"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class _Base:
    task_id: str
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def name(self) -> str:
        return type(self).__name__.upper()

    @property
    def is_terminal(self) -> bool:
        return not isinstance(self, (Pending, Running))


@dataclass(frozen=True)
class Pending(_Base):
    pass


@dataclass(frozen=True)
class Running(_Base):
    pass


@dataclass(frozen=True)
class Succeeded(_Base):
    video_url: str = ""
    orig_prompt: str | None = None
    actual_prompt: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class Failed(_Base):
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Canceled(_Base):
    pass


@dataclass(frozen=True)
class Unknown(_Base):
    """The service does not know the id: never existed, another account's, or older than 24 h."""


TaskStatus = Union[Pending, Running, Succeeded, Failed, Canceled, Unknown]

_KINDS: dict[str, type] = {
    "PENDING": Pending, "RUNNING": Running, "SUCCEEDED": Succeeded,
    "FAILED": Failed, "CANCELED": Canceled, "UNKNOWN": Unknown,
}


class UnknownStatusError(ValueError):
    """The service sent a task_status this client does not know."""


def parse_status(body: dict[str, Any]) -> TaskStatus:
    """Parse a GET /tasks/{id} (or create) response body. Rejects unknown status strings."""
    output = body.get("output") or {}
    raw_status = output.get("task_status")
    kind = _KINDS.get(raw_status or "")
    if kind is None:
        raise UnknownStatusError(f"unexpected task_status {raw_status!r}")
    common = dict(
        task_id=str(output.get("task_id", "")),
        submit_time=parse_time(output.get("submit_time")),
        scheduled_time=parse_time(output.get("scheduled_time")),
        end_time=parse_time(output.get("end_time")),
    )
    if kind is Succeeded:
        return Succeeded(**common, video_url=output.get("video_url", ""),
                         orig_prompt=output.get("orig_prompt"),
                         actual_prompt=output.get("actual_prompt"),
                         usage=Usage.parse(body.get("usage")))
    if kind is Failed:
        return Failed(**common, code=output.get("code", ""), message=output.get("message", ""))
    return kind(**common)
