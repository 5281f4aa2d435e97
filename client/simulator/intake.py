"""Turn a create call's media URLs (oss://, data:, http(s)) into checked bytes, or refuse them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from .. import media
from ..errors import InvalidInput
from ..media import ImageInfo
from ..request import decode_data_uri, source_kind
from .responses import FORMAT_UNSUPPORTED_MESSAGE, ApiRefusal
from .state import Store

DOWNLOAD_TIMEOUT_SECONDS = 10.0

# VideoRequest field -> where it sits in the create JSON, so messages name the wire field.
WIRE_FIELDS = {
    "image": "input.img_url",
    "prompt": "input.prompt",
    "negative_prompt": "input.negative_prompt",
    "audio_url": "input.audio_url",
    "template": "input.template",
}


def wire_field(field_name: str) -> str:
    return WIRE_FIELDS.get(field_name, f"parameters.{field_name}")


def invalid_parameter(exc: InvalidInput) -> ApiRefusal:
    """400 InvalidParameter whose message names the JSON field, the rule and what is allowed."""
    text = exc.message
    if text.startswith(f"{exc.field}:"):
        text = text[len(exc.field) + 1 :].lstrip()
    return ApiRefusal("InvalidParameter", f"{wire_field(exc.field)}: {text}")


def fetch_media(
    url: str, field_name: str, *, store: Store, account: str, model_id: str, oss_resolve: bool
) -> bytes:
    kind = source_kind(url)
    wire = wire_field(field_name)
    if kind == "data":
        try:
            return decode_data_uri(url, field_name)[1]
        except InvalidInput as exc:
            raise invalid_parameter(exc) from None
    if kind == "oss":
        if not oss_resolve:
            raise ApiRefusal("invalid_parameter_error")
        upload = store.upload(url[len("oss://") :])
        if upload is None or upload.account != account or upload.model != model_id:
            raise ApiRefusal("InvalidParameter.DataInspection")
        return upload.data
    if kind == "url":
        try:
            answer = httpx.get(url, timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True)
        except httpx.HTTPError:
            raise ApiRefusal("InvalidParameter.DataInspection") from None
        if answer.status_code != 200:
            raise ApiRefusal("InvalidParameter.DataInspection")
        return answer.content
    raise ApiRefusal(
        "InvalidURL",
        f"Invalid URL provided in your request: {wire} must be an "
        "http(s) URL, an oss:// upload or a data URI, not a local path.",
    )


def check_image(data: bytes) -> ImageInfo:
    try:
        return media.probe_image(data, "image")
    except InvalidInput as exc:
        if exc.allowed == media.IMAGE_FORMATS:
            raise ApiRefusal(
                "InvalidParameter.DataInspection",
                f"{FORMAT_UNSUPPORTED_MESSAGE} ({wire_field('image')}: {exc.rule})",
            ) from None
        raise invalid_parameter(exc) from None


def check_audio(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="wan-sim-audio-") as tmp:
        path = Path(tmp) / "audio"
        path.write_bytes(data)
        try:
            media.probe_audio(path, "audio_url")
        except InvalidInput as exc:
            raise invalid_parameter(exc) from None
