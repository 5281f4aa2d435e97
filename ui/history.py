"""The browser's own list of its tasks (kept in gr.BrowserState): plain JSON, never a key."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from client.catalog import TASK_LIFETIME_HOURS
from client.request import VideoRequest

from .messages import sentence_key
from .runner import ACTIVE, Job

HISTORY_LIMIT = 50
Record = dict[str, Any]


def record_of(job: Job) -> Record:
    """The history entry for a job: id, settings, status and the local video, nothing secret."""
    return {
        "token": job.token,
        "task_id": job.task_id,
        "region": job.region,
        "key_kind": job.key_kind,
        "status": job.phase,
        "request": job.request.to_dict() if job.request is not None else None,
        "video": str(job.video) if job.video is not None else None,
        "error": sentence_key(job.error) if job.error is not None else None,
        "code": job.error.code if job.error is not None else None,  # e.g. DataInspectionFailed
        "created": job.created,
        "updated": time.time(),
    }


def is_fresh(record: Record, now: float | None = None) -> bool:
    """Whether the service still knows the task (it forgets tasks after 24 hours)."""
    created = record.get("created") or 0
    return (now or time.time()) - float(created) < TASK_LIFETIME_HOURS * 3600


def needs_follow(record: Record, now: float | None = None) -> bool:
    """Unfinished tasks, and finished ones whose video is no longer in the cache."""
    if not record.get("task_id") or not is_fresh(record, now):
        return False
    if record.get("status") in ACTIVE:
        return True
    return record.get("status") == "SUCCEEDED" and not video_exists(record)


def video_exists(record: Record) -> bool:
    video = record.get("video")
    return bool(video) and Path(video).is_file()


def finished_videos(history: list[Record] | None) -> list[Record]:
    return [r for r in (history or []) if isinstance(r, dict) and r.get("status") == "SUCCEEDED"
            and video_exists(r)]


def request_of(record: Record) -> VideoRequest | None:
    data = record.get("request")
    if not isinstance(data, dict):
        return None
    try:
        return VideoRequest.from_dict(data)
    except TypeError:
        return None
