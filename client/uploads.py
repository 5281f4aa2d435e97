"""Local file -> temporary oss:// URL: getPolicy, then a form POST to OSS streamed from disk."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

import httpx

from .errors import InvalidInput, ServiceError, WanError, error_class
from .http import WanClient

_POLICY_FIELDS = ("policy", "signature", "upload_dir", "upload_host", "oss_access_key_id")
_OSS_XML_FIELD = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

# The media the service takes, whatever /etc/mime.types the machine has (Python knows .webp only
# from that file).
_MIME_BY_SUFFIX = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                   ".bmp": "image/bmp", ".webp": "image/webp", ".wav": "audio/wav",
                   ".mp3": "audio/mpeg", ".mp4": "video/mp4", ".mov": "video/quicktime"}


def object_name(path: Path) -> str:
    """The file name used in the OSS key: characters that upset URLs become '_'."""
    stem = _UNSAFE_NAME_CHARS.sub("_", path.stem).strip("_") or "file"
    suffix = _UNSAFE_NAME_CHARS.sub("", path.suffix.lower())
    return stem + suffix


async def get_policy(client: WanClient, model: str) -> dict[str, Any]:
    """The upload policy for one file bound to `model` (valid a few minutes)."""
    body = await client.api("GET", "/uploads", params={"action": "getPolicy", "model": model})
    data = body.get("data")
    if not isinstance(data, dict) or any(not data.get(k) for k in _POLICY_FIELDS):
        raise ServiceError("the upload policy from the service is incomplete",
                           request_id=body.get("request_id"))
    return data


def oss_error(response: httpx.Response) -> WanError:
    """The exception for a refused OSS form POST (OSS answers with XML)."""
    found = dict(_OSS_XML_FIELD.findall(response.text))
    code = found.get("Code") or None
    message = found.get("Message") or f"the file upload was refused (HTTP {response.status_code})"
    cls = error_class(response.status_code, code) if code else ServiceError
    return cls(f"upload failed: {message}", status=response.status_code, code=code,
               request_id=found.get("RequestId"))


async def upload_file(client: WanClient, path: Path, model: str) -> str:
    """Upload a local file for `model` and return its temporary "oss://…" URL (valid 48 h)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput("file", f"no such file: {path.name}")
    policy = await get_policy(client, model)
    size = path.stat().st_size
    max_mb = policy.get("max_file_size_mb")
    if isinstance(max_mb, (int, float)) and size > max_mb * 1024 * 1024:
        raise InvalidInput("file", f"{path.name} is {size / 1048576:.1f} MB; the upload limit "
                                   f"is {max_mb} MB")
    key = f"{str(policy['upload_dir']).rstrip('/')}/{object_name(path)}"
    fields = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "policy": policy["policy"],
        "Signature": policy["signature"],
        "key": key,
        "x-oss-object-acl": policy.get("x_oss_object_acl", "private"),
        "x-oss-forbid-overwrite": policy.get("x_oss_forbid_overwrite", "true"),
        "success_action_status": "200",
    }
    mime = _MIME_BY_SUFFIX.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"
    with path.open("rb") as stream:  # noqa: ASYNC230 - httpx reads sync files in chunks
        # httpx sends `data` fields first and `files` after them, so `file` is last; the file
        # object is read in chunks while sending. No Authorization: OSS is another host.
        try:
            response = await client.http.post(policy["upload_host"], data=fields,
                                              files={"file": (object_name(path), stream, mime)})
        except httpx.TransportError as exc:
            raise ServiceError(f"the file upload broke off: {type(exc).__name__}") from None
    if not response.is_success:
        raise oss_error(response)
    return "oss://" + key
