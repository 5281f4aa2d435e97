"""The one list of a request's fields: VideoRequest's attributes, each declared with its wire
place, the catalog capability that enables it, its checks, its label, widget and CLI flag.

Validation, payloads, the CLI, the studio's form, "use these settings again", the curl/SDK code
and the simulator's acceptance all read this list; `takes(model, field)` is the one answer to
"does this model take it". Attributes are in the order the create JSON writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from . import catalog
from .catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME, Audio, Model

SHOT_TYPES = ("single", "multi")

Kind = Literal["text", "number", "checkbox", "radio", "dropdown", "media"]
Place = Literal["top", "picture", "model", "main", "advanced"]  # where the studio shows it
MediaKind = Literal["image", "audio", "video"]
_JSON_TYPES: dict[str, type] = {"number": int, "checkbox": bool}  # every other kind: a string


def _always(model: Model) -> bool:
    return True


@dataclass(frozen=True)
class Field:
    """One request field. `name` and `default` come from its VideoRequest attribute."""

    kind: Kind
    label: str  # i18n key; the studio also finds "<label>_ph", "<label>_info" and so on by it
    place: Place
    wire: tuple[str, ...] | None = None  # where the create JSON carries it; None: never sent
    # The capability: whether the deployed model takes a value for it (carried and sent).
    takes: Callable[[Model], bool] = _always
    # Why a model without the capability refuses a value (model, region). Without it, a field
    # the model does not take is fixed by the model: not sent, and only its one value allowed.
    refusal: Callable[[Model, str], str] | None = None
    choices: tuple[Any, ...] | Callable[[Model], tuple[Any, ...]] | None = None
    bad_value: Callable[[Model, Any], str] | None = None  # the rule a value off the choices breaks
    fallback: Callable[[Model], Any] | None = None  # the model's default when unset
    max_chars: Callable[[Model], int] | None = None  # text
    bounds: tuple[int, int] | None = None  # number
    prompt_part: bool = False  # an effect template replaces it: not sent with one
    shown: Any = None  # what the studio's control shows when the request leaves it unset
    required: str | None = None  # the rule when it is missing (media: when its role is needed)
    media: MediaKind | None = None
    role: str | None = None  # media: the wan2.7 media type; client.protocols places it on the wire
    file_input: str | None = None  # media: the studio's and /generate's upload input
    link_input: str | None = None  # media: its input for a public link
    lines: int = 1  # text: rows in the studio
    flag: str | None = None  # CLI option ("--no-x": a switch that turns it off)
    help: str = ""
    name: str = ""
    default: Any = None

    def allowed(self, model: Model) -> tuple[Any, ...] | None:
        """The values this model allows, where the field has a list of them."""
        return self.choices(model) if callable(self.choices) else self.choices

    @property
    def json_type(self) -> type:
        return _JSON_TYPES.get(self.kind, str)

    @property
    def wire_name(self) -> str:
        """How messages about the create JSON name it, e.g. parameters.duration (media: see
        client.protocols.Wire.wire_name)."""
        return ".".join(self.wire) if self.wire else self.name


def _spec(default: Any = dataclasses.MISSING, **spec: Any) -> Any:
    return dataclasses.field(default=default, metadata={"field": Field(**spec)})


def _no_template(model: Model, region: str) -> str:
    if catalog.MODELS[model.id].templates:
        return "effect templates exist only in the Beijing region; switch the region to Beijing"
    holders = ", ".join(m.id for m in catalog.models_in_region(region) if m.templates)
    return f"{model.id} does not take effect templates" + (
        f"; they exist on {holders}" if holders else "")


def _no_duration(model: Model, value: Any) -> str:
    if model.duration_is_range:
        return f"{model.id} makes {model.durations[0]}–{model.durations[-1]} s videos"
    return f"{model.id} cannot make {value} s videos"


# How messages name a medium by its role.
ROLE_NOUNS = {FIRST_FRAME: "a first-frame picture", LAST_FRAME: "a last frame",
              FIRST_CLIP: "a clip to continue", DRIVING_AUDIO: "an audio track"}


def _no_role(role: str) -> Callable[[Model, str], str]:
    """Why a model refuses a medium: it lacks the role; name the models here that take it."""
    def refusal(model: Model, region: str) -> str:
        noun = ROLE_NOUNS[role].split(" ", 1)[1]
        holders = ", ".join(m.id for m in catalog.models_in_region(region) if role in m.roles)
        if holders:
            return f"{model.id} takes no {noun}; choose {holders}"
        elsewhere = " or ".join(r.name_en for r in catalog.REGIONS.values() if any(
            role in m.roles for m in catalog.models_in_region(r.id)))
        return (f"{model.id} takes no {noun}, nor does any model in "
                f"{catalog.REGIONS[region].name_en}; switch the region to {elsewhere}")
    return refusal


def _no_shot_type(model: Model, region: str) -> str:
    if model.shots_in_prompt:
        return (f"{model.id} has no shot type; write the shots in the prompt instead, e.g. "
                "\"Shot 1 [0-3 s]: … Shot 2 [3-5 s]: …\"")
    return f"{model.id} has no shot type; multi-shot storytelling needs a wan2.6 or wan2.7 model"


def _no_sound_switch(model: Model, region: str) -> str:
    return f"{model.id} has no sound switch; " + (
        "its videos always have sound" if model.audio is Audio.ALWAYS
        else "its videos are always silent")


@dataclass(frozen=True)
class VideoRequest:
    """One image-to-video job. Media are URLs (http/https/oss/data) or local paths."""

    model: str = _spec(kind="dropdown", label="model", place="model", wire=("model",),
                       required="name a model (python -m client models lists them)",
                       flag="--model")
    image: str | Path | None = _spec(  # noqa: RUF009 - _spec is a dataclasses.field
        None, kind="media", label="image", place="picture",
        media="image", role=FIRST_FRAME, file_input="image", link_input="img_url",
        takes=lambda m: FIRST_FRAME in m.roles,
        required="a first-frame picture is required; upload one or give its URL",
        flag="--image", help="a local file or a public http(s) URL")
    template: str | None = _spec(  # effect template id (wan2.1 in Beijing only)
        None, kind="dropdown", label="template", place="main", wire=("input", "template"),
        takes=lambda m: bool(m.templates), refusal=_no_template, shown="",
        choices=lambda m: m.templates, bad_value=lambda m, v: f"{m.id} has no template {v!r}",
        flag="--template")
    prompt: str = _spec(
        "", kind="text", label="prompt", place="main", wire=("input", "prompt"),
        max_chars=lambda m: m.prompt_max, prompt_part=True, lines=3, flag="--prompt")
    negative_prompt: str = _spec(
        "", kind="text", label="negative_prompt", place="advanced",
        wire=("input", "negative_prompt"), max_chars=lambda m: m.negative_prompt_max,
        prompt_part=True, flag="--negative-prompt")
    audio_url: str | Path | None = _spec(  # noqa: RUF009 - a voice track or song to lip-sync to
        None, kind="media", label="audio", place="picture", media="audio", role=DRIVING_AUDIO,
        file_input="audio_file", link_input="audio_url", takes=lambda m: DRIVING_AUDIO in m.roles,
        refusal=lambda m, r: (f"{m.id} makes silent video and takes no audio; choose a wan2.5, "
                              "wan2.6 or wan2.7 model for sound"),
        flag="--audio", help="a voice track or song: a local wav/mp3 or a URL")
    last_frame: str | Path | None = _spec(  # noqa: RUF009 - the picture the video ends on
        None, kind="media", label="last_frame", place="picture", media="image", role=LAST_FRAME,
        file_input="last_frame", link_input="last_frame_url",
        takes=lambda m: LAST_FRAME in m.roles, refusal=_no_role(LAST_FRAME),
        required="add the last frame: the picture the video should end on",
        flag="--last-frame", help="the picture the video ends on: a local file or a URL")
    first_clip: str | Path | None = _spec(  # noqa: RUF009 - a video to continue (wan2.7)
        None, kind="media", label="first_clip", place="picture", media="video", role=FIRST_CLIP,
        file_input="first_clip", link_input="first_clip_url",
        takes=lambda m: FIRST_CLIP in m.roles, refusal=_no_role(FIRST_CLIP),
        flag="--first-clip",
        help="a 2–10 s MP4/MOV to continue (replaces --image): a local file or a URL")
    resolution: str | None = _spec(  # None = the model's default
        None, kind="radio", label="resolution", place="main", wire=("parameters", "resolution"),
        choices=lambda m: m.resolutions, fallback=lambda m: m.default_resolution,
        bad_value=lambda m, v: f"{m.id} does not make {v} video", flag="--resolution")
    prompt_extend: bool = _spec(
        True, kind="checkbox", label="prompt_extend", place="advanced",
        wire=("parameters", "prompt_extend"), prompt_part=True, flag="--no-prompt-extend")
    duration: int | None = _spec(  # None = the model's default
        None, kind="number", label="duration", place="main", wire=("parameters", "duration"),
        takes=lambda m: not m.duration_is_fixed, choices=lambda m: m.durations,
        fallback=lambda m: m.default_duration, bad_value=_no_duration, flag="--duration")
    shot_type: str | None = _spec(  # "single" / "multi" (wan2.6 only)
        None, kind="radio", label="shot_type", place="main", wire=("parameters", "shot_type"),
        takes=lambda m: m.accepts_shot_type, shown="single", choices=SHOT_TYPES,
        refusal=_no_shot_type,
        bad_value=lambda m, v: f"unknown shot type {v!r}", flag="--shot-type")
    audio: bool | None = _spec(  # the sound switch (wan2.6-i2v-flash only); None = model default
        None, kind="checkbox", label="audio_switch", place="main", wire=("parameters", "audio"),
        takes=lambda m: m.audio is Audio.SWITCHABLE, refusal=_no_sound_switch, shown=True,
        flag="--no-audio", help="silent video (wan2.6-i2v-flash)")
    watermark: bool = _spec(False, kind="checkbox", label="watermark", place="advanced",
                            wire=("parameters", "watermark"), flag="--watermark")
    seed: int | None = _spec(
        None, kind="number", label="seed", place="advanced", wire=("parameters", "seed"),
        bounds=(0, catalog.SEED_MAX), shown=-1, flag="--seed")
    region: str = _spec(catalog.DEFAULT_REGION, kind="dropdown", label="region", place="top",
                        choices=tuple(catalog.REGIONS))  # the CLI's --region serves `resume` too
    notices: tuple[str, ...] = dataclasses.field(default=(), compare=False)  # from validate()

    def replace(self, **changes: Any) -> VideoRequest:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings (for history records and "use these settings again")."""
        out = {f.name: getattr(self, f.name) for f in FIELDS}
        for f in MEDIA:
            if isinstance(out[f.name], Path):
                out[f.name] = str(out[f.name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoRequest:
        return cls(**{k: v for k, v in data.items() if k in BY_NAME})


FIELDS: tuple[Field, ...] = tuple(
    replace(f.metadata["field"], name=f.name,
            default=None if f.default is dataclasses.MISSING else f.default)
    for f in fields(VideoRequest) if "field" in f.metadata)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
MEDIA: tuple[Field, ...] = tuple(f for f in FIELDS if f.kind == "media")
MEDIA_FIELDS: tuple[str, ...] = tuple(f.name for f in MEDIA)
BY_ROLE: dict[str, Field] = {f.role: f for f in MEDIA if f.role is not None}


def takes(model: Model, field: Field | str) -> bool:
    """Whether the deployed model takes a value for the field: the one answer everyone asks."""
    return (BY_NAME[field] if isinstance(field, str) else field).takes(model)


def fields_for(model: Model) -> tuple[Field, ...]:
    """The fields the deployed model takes, in wire order."""
    return tuple(f for f in FIELDS if f.takes(model))


def visible(model: Model, field: Field) -> bool:
    """Whether the studio shows the field's control for this model: a missing capability hides
    it; a value the model fixes stays in view (e.g. "5 s only")."""
    return field.refusal is None or field.takes(model)
