"""Turn a create call's media URLs (oss://, data:, http(s)) into checked bytes, or refuse them.
Links are fetched by the guarded client.links.LinkFetcher, never by a plain GET."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.concurrency import run_in_threadpool

from .. import media
from ..errors import InvalidInput
from ..fields import FIELDS
from ..links import LinkFetcher, LinkRefused
from ..media import ImageInfo
from ..request import decode_data_uri, source_kind
from .responses import FORMAT_UNSUPPORTED_MESSAGE, ApiRefusal, message_for
from .state import Store

# VideoRequest field -> where it sits in the create JSON, so messages name the wire field.
WIRE_FIELDS = {f.name: f.wire_name for f in FIELDS if f.wire is not None}


def wire_field(field_name: str) -> str:
    return WIRE_FIELDS.get(field_name, f"parameters.{field_name}")


def invalid_parameter(exc: InvalidInput) -> ApiRefusal:
    """400 InvalidParameter whose message names the JSON field, the rule and what is allowed."""
    text = exc.message
    if text.startswith(f"{exc.field}:"):
        text = text[len(exc.field) + 1 :].lstrip()
    return ApiRefusal("InvalidParameter", f"{wire_field(exc.field)}: {text}")


# VideoRequest field -> the media kind its download is capped as.
_LINK_KINDS = {"image": "image", "audio_url": "audio"}


async def fetch_media(
    url: str,
    field_name: str,
    *,
    links: LinkFetcher,
    store: Store,
    account: str,
    model_id: str,
    oss_resolve: bool,
) -> bytes:
    """The bytes a create call's media field names; a link goes through the guarded fetcher."""
    if source_kind(url) != "url":
        return await run_in_threadpool(
            _read_stored, url, field_name, store, account, model_id, oss_resolve
        )
    try:
        return await links.fetch(url, _LINK_KINDS[field_name])
    except LinkRefused as refusal:
        raise ApiRefusal(
            "InvalidParameter.DataInspection",
            f"{message_for('InvalidParameter.DataInspection')} ({wire_field(field_name)}: {refusal})",
        ) from None


def _read_stored(
    url: str, field_name: str, store: Store, account: str, model_id: str, oss_resolve: bool
) -> bytes:
    """A data URI's bytes or an oss:// upload's (off the event loop: decoding and disk reads)."""
    kind = source_kind(url)
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
    raise ApiRefusal(
        "InvalidURL",
        f"Invalid URL provided in your request: {wire_field(field_name)} must be an "
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
            media.probe_audio(path, "audio_url", cache=False)  # bounded; each upload is new
        except InvalidInput as exc:
            raise invalid_parameter(exc) from None
