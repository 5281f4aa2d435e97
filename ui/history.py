"""The browser's own list of its tasks (kept in gr.BrowserState): what the server issued, sealed,
never a key and never a path. Videos and uploads are found by name in the studio's store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from client.catalog import TASK_LIFETIME_HOURS
from client.fields import MEDIA_FIELDS
from client.request import VideoRequest, source_kind

from .messages import sentence_key
from .records import HISTORY_LIMIT, Record, RecordSeal
from .runner import ACTIVE, Job, Phase
from .store import VideoStore

__all__ = ["HISTORY_LIMIT", "Record", "finished_videos", "needs_follow", "record_of",
           "request_of"]
UPLOAD_PREFIX = "upload:"


def _settings(request: VideoRequest, store: VideoStore) -> dict[str, Any]:
    """The request as a record keeps it: public links as they are, kept uploads by name."""
    data = request.to_dict()
    for name in MEDIA_FIELDS:
        value = data.get(name)
        if value is None or source_kind(value) == "url":
            continue
        ref = store.upload_ref(value)
        data[name] = UPLOAD_PREFIX + ref if ref else None
    return data


def record_of(job: Job, store: VideoStore, seal: RecordSeal) -> Record:
    """The sealed history entry for a job: id, settings, status; nothing secret. A job that only
    watches someone's task by id keeps no settings."""
    request = job.request if job.request is not None and not job.view_only else None
    return seal.seal({
        "token": job.token,
        "task_id": job.task_id,
        "region": job.region,
        "key_kind": job.key_kind,
        "status": job.phase.value,
        "view": job.view_only,
        "request": _settings(request, store) if request is not None else None,
        "error": sentence_key(job.error) if job.error is not None else None,
        "code": job.error.code if job.error is not None else None,  # e.g. DataInspectionFailed
        "created": job.created,
        "updated": time.time(),
    })


def is_fresh(record: Record, now: float | None = None) -> bool:
    """Whether the service still knows the task (it forgets tasks after 24 hours)."""
    created = record.get("created")
    if not isinstance(created, (int, float)):
        return False
    return (now or time.time()) - float(created) < TASK_LIFETIME_HOURS * 3600


def needs_follow(record: Record, store: VideoStore, now: float | None = None) -> bool:
    """Unfinished tasks, and finished ones whose video is no longer in the cache."""
    if not isinstance(record.get("task_id"), str) or not is_fresh(record, now):
        return False
    phase = Phase.of(record.get("status"))
    if phase in ACTIVE:
        return True
    return phase is Phase.SUCCEEDED and store.video_for(record["task_id"]) is None


def finished_videos(history: list[Record], store: VideoStore) -> list[tuple[Record, Path]]:
    """(record, video) for every finished task whose video is in the cache."""
    found = []
    for record in history:
        finished = Phase.of(record.get("status")) is Phase.SUCCEEDED
        video = store.video_for(record.get("task_id")) if finished else None
        if video is not None:
            found.append((record, video))
    return found


def request_of(record: Record, store: VideoStore) -> VideoRequest | None:
    """The settings of a record, with kept uploads found again (a missing one is left out)."""
    data = record.get("request")
    if not isinstance(data, dict):
        return None
    data = dict(data)
    for name in MEDIA_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.startswith(UPLOAD_PREFIX):
            path = store.upload_for(value[len(UPLOAD_PREFIX):])
            data[name] = str(path) if path is not None else None
        elif value is not None and (not isinstance(value, str) or source_kind(value) != "url"):
            data[name] = None  # only links and kept uploads come back, never a path
    try:
        return VideoRequest.from_dict(data)
    except TypeError:
        return None
