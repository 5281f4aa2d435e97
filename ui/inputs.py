"""What a media input holds, shown at once under it: size and format (or length), the rule it
breaks for the chosen model's role, or that the chosen model does not use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client import catalog
from client.errors import InvalidInput
from client.fields import BY_NAME, Field, takes
from client.media import LEGACY_AUDIO, LEGACY_IMAGE, probe_audio, probe_video
from client.protocols import Wire, wire_of
from client.request import check_public_url, image_info

from .form import inputs_of
from .i18n import t
from .messages import error_sentence


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def _facts(field: Field, upload: str, wire: Wire | None) -> dict[str, Any]:
    """What "<label>_info" tells of an upload, probed by the rules of the model's protocol
    (each probe is remembered per file and rules)."""
    if not Path(upload).is_file():  # e.g. Gradio's upload folder was cleaned meanwhile
        raise InvalidInput(field.name, f"no such file: {Path(upload).name}; upload it again")
    if field.media == "image":
        info = image_info(upload, field.name, wire.image_rules if wire else LEGACY_IMAGE)
        assert info is not None  # an upload is a local file
        return {"width": info.width, "height": info.height, "format": info.format,
                "size": _size(info.size_bytes)}
    if field.media == "video":
        clip = probe_video(Path(upload), field.name)  # reads the headers, decodes no frame
        return {"seconds": clip.seconds, "width": clip.width, "height": clip.height,
                "format": clip.format.upper(), "codec": clip.codec, "size": _size(clip.size_bytes)}
    sound = probe_audio(Path(upload), field.name,
                        rules=wire.audio_rules if wire else LEGACY_AUDIO)
    return {"seconds": sound.seconds, "format": sound.format.upper(),
            "size": _size(sound.size_bytes)}


def describe(field_name: str, upload: str | None, link: Any, model_id: str, region: str,
             lang: str) -> str:
    """The line under a media field's inputs ("" while both are empty)."""
    field = BY_NAME[field_name]
    typed = "" if link is None else str(link).strip()
    if not upload and not typed:
        return ""
    model = catalog.model_in_region(model_id, region)
    if model is not None and not takes(model, field):
        return t(f"{field.label}_unused", lang)
    try:
        if upload:
            wire = wire_of(model) if model is not None else None
            return "✓ " + t(f"{field.label}_info", lang, **_facts(field, upload, wire))
        check_public_url(typed, inputs_of(field)[1].name)
        return "✓ " + t(f"{field.label}_url_ok", lang)
    except InvalidInput as exc:
        return "⚠ " + error_sentence(exc, lang)
