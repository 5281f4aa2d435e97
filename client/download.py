"""Save a result video to disk: streamed, checked (type, length, MP4 header), renamed into place."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from .errors import DownloadFailed, ResultExpired
from .http import WanClient

VIDEO_CONTENT_TYPES = ("video/mp4", "application/octet-stream")
_GONE_STATUSES = (403, 404, 410)
_EXPIRED_MESSAGE = ("the result link has expired (links work for 24 h after the task finished); "
                    "the video can no longer be downloaded, so generate it again")


def signed_url_expired(url: str, now: float | None = None) -> bool:
    """True when an OSS signed URL's `Expires` (epoch seconds) has passed."""
    values = parse_qs(urlsplit(url).query).get("Expires")
    if not values:
        return False
    try:
        return int(values[0]) < (time.time() if now is None else now)
    except ValueError:
        return False


def _looks_like_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == b"ftyp"


async def download(client: WanClient, url: str, dest: Path) -> Path:
    """Stream `url` to `dest` (written under a temporary name, then renamed). No credentials
    are sent: result links are signed OSS URLs on another host."""
    dest = Path(dest)
    if signed_url_expired(url):
        raise ResultExpired(_EXPIRED_MESSAGE)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        await _stream_to(client, url, partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


async def _stream_to(client: WanClient, url: str, partial: Path) -> None:
    try:
        async with client.http.stream("GET", url, follow_redirects=True) as response:
            status = response.status_code
            if status in _GONE_STATUSES:
                raise ResultExpired(_EXPIRED_MESSAGE, status=status)
            if not response.is_success:
                raise DownloadFailed(f"the video download failed with HTTP {status}",
                                     status=status)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in VIDEO_CONTENT_TYPES:
                raise DownloadFailed(f"the result is {content_type or 'of no stated type'}, "
                                     "not an MP4 video", status=status)
            head = b""
            received = 0
            with partial.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    if len(head) < 8:
                        head += chunk[:8]
                    received += len(chunk)
                    out.write(chunk)
            declared = response.headers.get("content-length")
            if response.headers.get("content-encoding", "identity") != "identity":
                received = response.num_bytes_downloaded  # Content-Length counts encoded bytes
    except httpx.TransportError as exc:
        raise DownloadFailed(f"the video download broke off ({type(exc).__name__}); "
                             "try downloading again") from None
    if declared is not None and declared.isdigit() and int(declared) != received:
        raise DownloadFailed(f"the video download is incomplete: {received} of {declared} bytes "
                             "arrived; try downloading again")
    if not _looks_like_mp4(head):
        raise DownloadFailed("the downloaded file is not an MP4 video")
