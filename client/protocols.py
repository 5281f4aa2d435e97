"""The three create bodies a model may speak (catalog.Protocol): the endpoint, where each media
role travels in `input`, and the media rules the service applies. Nothing else knows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import catalog
from .catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME, Model, Protocol
from .errors import InvalidInput
from .media import DRIVING_AUDIO as DRIVING_AUDIO_RULES
from .media import KF2V_IMAGE, LEGACY_AUDIO, LEGACY_IMAGE, MEDIA_IMAGE, AudioRules, ImageRules

VIDEO_GENERATION_PATH = "/services/aigc/video-generation/video-synthesis"
IMAGE2VIDEO_PATH = "/services/aigc/image2video/video-synthesis"
CREATE_PATHS = (VIDEO_GENERATION_PATH, IMAGE2VIDEO_PATH)
ROLES = (FIRST_FRAME, LAST_FRAME, FIRST_CLIP, DRIVING_AUDIO)  # input.media[].type values


@dataclass(frozen=True)
class Wire:
    """How one protocol carries a request."""

    protocol: Protocol
    path: str  # the create endpoint under /api/v1
    media_keys: dict[str, str]  # role -> its key in `input`; empty: roles go in input.media[]
    image_rules: ImageRules  # first and last frames
    audio_rules: AudioRules  # driving audio

    def put(self, section: dict[str, Any], role: str, url: str) -> None:
        """Write one medium's URL into the body's `input` section."""
        if self.media_keys:
            section[self.media_keys[role]] = url
        else:
            section.setdefault("media", []).append({"type": role, "url": url})

    def media_of(self, section: dict[str, Any]) -> dict[str, Any]:
        """role -> URL as a create body's `input` carries them, or InvalidInput("media", …)
        for a media list the service refuses (the simulator reads bodies with this)."""
        if self.media_keys:
            return {role: section[key] for role, key in self.media_keys.items()
                    if section.get(key) is not None}
        items = section.get("media")
        if items is None:
            raise InvalidInput("media", "Field required: input.media")
        if not isinstance(items, list) or not items:
            raise InvalidInput("media", "must be a non-empty list of {type, url} objects")
        found: dict[str, Any] = {}
        for number, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                raise InvalidInput("media", f"item {number} must be an object with a string url")
            kind = item.get("type")
            if kind not in ROLES:
                raise InvalidInput("media", f"item {number} has type {kind!r}", ROLES)
            if kind in found:
                raise InvalidInput("media", f"type {kind} appears twice; each type at most once")
            found[kind] = item["url"]
        return found

    def wire_name(self, role: str) -> str:
        """How a message names a role's place in the body, e.g. input.img_url."""
        key = self.media_keys.get(role)
        return f"input.{key}" if key else f"input.media[{role}]"


WIRES: dict[Protocol, Wire] = {
    Protocol.LEGACY: Wire(Protocol.LEGACY, VIDEO_GENERATION_PATH,
                          {FIRST_FRAME: "img_url", DRIVING_AUDIO: "audio_url"},
                          LEGACY_IMAGE, LEGACY_AUDIO),
    Protocol.MEDIA: Wire(Protocol.MEDIA, VIDEO_GENERATION_PATH, {}, MEDIA_IMAGE,
                         DRIVING_AUDIO_RULES),
    Protocol.KF2V: Wire(Protocol.KF2V, IMAGE2VIDEO_PATH,
                        {FIRST_FRAME: "first_frame_url", LAST_FRAME: "last_frame_url"},
                        KF2V_IMAGE, LEGACY_AUDIO),
}


def wire_of(model: Model) -> Wire:
    return WIRES[model.protocol]


def wire_for(model_id: str) -> Wire:
    """The wire of a model named in a body; the legacy one for a name the catalog lacks (the
    service answers those itself)."""
    model = catalog.MODELS.get(model_id)
    return WIRES[model.protocol if model is not None else Protocol.LEGACY]
