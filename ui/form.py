"""The page's form and the request: the form's inputs (from client.fields), the request a form
describes, and the form values a request gives back ("use these settings again")."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from client import catalog
from client.errors import InvalidInput
from client.fields import BY_NAME, FIELDS, Field, takes
from client.request import VideoRequest, check_public_url, deployed_model, source_kind

from .controls import clip_replaces, default_model

# /generate's parameters as gradio_client callers know them: positional calls depend on this
# order. The inputs of fields added later follow these, in the field list's order.
PUBLIC_ORDER = ("image", "img_url", "audio_file", "audio_url", "prompt", "negative_prompt",
                "model", "region", "resolution", "duration", "shot_type", "audio", "template",
                "seed", "prompt_extend", "watermark")
DEPLOYMENT = ("model", "region")  # they decide the model every other field is read for


@dataclass(frozen=True)
class Input:
    """One input of the form: a field's control, or a media field's upload or typed link."""

    name: str  # the /generate parameter
    field: Field
    link: bool = False

    @property
    def default(self) -> Any:
        if self.field.kind == "media":
            return "" if self.link else None
        return self.field.default


def _inputs() -> tuple[Input, ...]:
    found: list[Input] = []
    for f in FIELDS:
        if f.kind == "media":
            assert f.file_input is not None and f.link_input is not None
            found += [Input(f.file_input, f), Input(f.link_input, f, link=True)]
        else:
            found.append(Input(f.name, f))
    later = len(PUBLIC_ORDER)
    return tuple(sorted(found, key=lambda i: PUBLIC_ORDER.index(i.name)
                        if i.name in PUBLIC_ORDER else later))


INPUTS = _inputs()
INPUT_NAMES = tuple(i.name for i in INPUTS)

# The request as the page holds it, one attribute per input (API names; "" for empty links).
Form = dataclasses.make_dataclass(
    "Form", [(i.name, Any, dataclasses.field(default=i.default)) for i in INPUTS], frozen=True,
    namespace={"__module__": __name__, "names": classmethod(lambda cls: INPUT_NAMES)})


Fn = TypeVar("Fn", bound=Callable[..., Any])


def with_form_defaults(fn: Fn) -> Fn:
    """`fn(…, **form)` as Gradio's API page and gradio_client see it: every form input a keyword
    that may be left out (a clip, a last frame). Gradio takes a parameter without an initial
    value as optional only when its default is None; the form reads None as unset."""
    signature = inspect.signature(fn)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    form = [inspect.Parameter(i.name, inspect.Parameter.KEYWORD_ONLY, default=None)
            for i in INPUTS]
    fn.__signature__ = signature.replace(parameters=[*kept, *form])  # type: ignore[attr-defined]
    return fn


def inputs_of(field: Field) -> tuple[Input, ...]:
    return tuple(i for i in INPUTS if i.field is field)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _file_or_link(file: str | None, link: Any, field_name: str) -> str | None:
    """The uploaded file, else the typed link (checked to be public)."""
    if file:
        return file
    url = _text(link).strip()
    if url:
        check_public_url(url, field_name)
        return url
    return None


def _whole(value: Any, field_name: str) -> int | None:
    if value is None or value == "":
        return None
    number = float(value)
    if not number.is_integer():
        raise InvalidInput(field_name, f"{value} is not a whole number")
    return int(number)


def _value(field: Field, form: Any) -> Any:
    """The request's value of a field, read from its input(s) by the field's kind."""
    if field.kind == "media":
        upload, link = inputs_of(field)
        return _file_or_link(getattr(form, upload.name), getattr(form, link.name), link.name)
    value = getattr(form, field.name)
    if field.kind == "text":
        return _text(value)
    if field.kind == "checkbox":
        return bool(value)
    if field.kind == "number":
        number = _whole(value, field.name)
        return None if number == field.shown else number  # e.g. seed -1: a random one
    return (value or field.shown) or None  # a choice: empty means what the control shows


def build_request(form: Any) -> VideoRequest:
    """The VideoRequest for a form, with only the fields the chosen model takes: a clip to
    continue replaces the media that cannot go with it (the first frame, the driving audio)."""
    region = form.region or catalog.DEFAULT_REGION
    if region not in catalog.REGIONS:
        raise InvalidInput("region", f"unknown region {region!r}", tuple(catalog.REGIONS))
    # Raises InvalidInput naming the region's models when this one is not offered there.
    model = deployed_model(form.model or default_model(region), region)
    values = {f.name: _value(f, form) for f in FIELDS
              if f.name not in DEPLOYMENT and takes(model, f)}
    if values.get("first_clip"):  # the clip replaces what cannot go with it (the page hides it)
        values = {name: v for name, v in values.items()
                  if BY_NAME[name].role not in clip_replaces(model)}
    if values.get("template"):  # the template drives the video: no prompt goes with it
        values = {name: v for name, v in values.items() if not BY_NAME[name].prompt_part}
    return VideoRequest(model=model.id, region=region, **values)


def form_values(req: VideoRequest) -> dict[str, Any]:
    """The form's values for a request, by input name: an upload kept by the studio goes back to
    its upload input, a link to its link input."""
    values: dict[str, Any] = {}
    for i in INPUTS:
        value = getattr(req, i.field.name)
        if i.field.kind == "media":
            is_file = value is not None and source_kind(str(value)) == "file"
            if i.link:
                values[i.name] = str(value) if value is not None and not is_file else ""
            else:
                values[i.name] = str(value) if is_file else None
        else:
            values[i.name] = i.field.shown if value is None else value
    return values
