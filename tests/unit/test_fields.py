"""The one field list: every consumer (validation, payload, from_payload, CLI, the studio's
controls, the simulator's type check) reads it, so they agree for every deployed model."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from client import catalog, fields
from client.__main__ import build_parser, request_from_args
from client.errors import InvalidInput
from client.fields import FIELDS, VideoRequest, fields_for, takes
from client.protocols import wire_of
from client.request import from_payload, to_payload, validate
from ui import controls
from ui.i18n import EN, ZH

DEPLOYED = [(m.id, r) for r in catalog.REGIONS for m in catalog.models_in_region(r)]
IMG, AUDIO = "https://example.com/a.jpg", "https://example.com/a.mp3"
CLIP = "https://example.com/a.mp4"
URLS = {"image": IMG, "audio": AUDIO, "video": CLIP}


def media_urls(request: VideoRequest) -> list[str | None]:
    """The URLs to_payload takes: the request's own (they are links already)."""
    return [getattr(request, f.name) for f in fields.MEDIA]


def everything(model: catalog.Model, region: str, **changes: Any) -> VideoRequest:
    """A request setting every field the model takes, each to a value other than its default."""
    values: dict[str, Any] = {
        "model": model.id, "region": region, "image": IMG, "prompt": "a cat",
        "negative_prompt": "blur", "resolution": model.resolutions[0],
        "duration": model.durations[-1], "seed": 7, "prompt_extend": True, "watermark": True}
    for f in fields_for(model):  # the capabilities, whichever the list holds
        if f.refusal is not None and f.name != "template" and f.kind != "media":
            values[f.name] = _set(f, model)
    widest = max(model.media, key=len)  # the most media the model takes together
    values.update({f.name: URLS[f.media or ""] if f.role in widest else None
                   for f in fields.MEDIA})
    return VideoRequest(**{**values, **changes})


def _set(f: fields.Field, model: catalog.Model) -> Any:
    if f.kind == "checkbox":
        return not f.shown if isinstance(f.shown, bool) else True
    return (f.allowed(model) or ("x",))[-1]


def test_the_list_is_the_request() -> None:
    names = [f.name for f in dataclasses.fields(VideoRequest) if f.name != "notices"]
    assert [f.name for f in FIELDS] == names
    wires = [f.wire for f in FIELDS if f.wire is not None]
    # Region is not sent; media travel where each model's protocol puts them.
    assert len(wires) == len(set(wires)) == len(FIELDS) - 1 - len(fields.MEDIA)
    assert {w[0] for w in wires} == {"model", "input", "parameters"}
    for f in FIELDS:
        assert f.label in EN and f.label in ZH, f.name
    flags = [f.flag for f in FIELDS if f.flag]
    assert len(flags) == len(set(flags))
    assert fields.MEDIA_FIELDS == ("image", "audio_url", "last_frame", "first_clip")
    assert [f.role for f in fields.MEDIA] == ["first_frame", "driving_audio", "last_frame",
                                               "first_clip"]
    assert all(f.wire is None and f.file_input and f.link_input for f in fields.MEDIA)


@pytest.mark.parametrize("model_id,region", DEPLOYED)
def test_what_a_model_takes_is_answered_once(model_id: str, region: str) -> None:
    """The payload carries exactly the fields the model takes, and the studio shows a control
    for each optional one exactly when it does."""
    model = catalog.model_in_region(model_id, region)
    assert model is not None
    request = validate(everything(model, region), check_media=False)
    sent = to_payload(request, *media_urls(request))
    places = {("model",)} | {(section, key) for section in ("input", "parameters")
                             for key in sent[section]}
    wire = wire_of(model)
    media_places = {("input", wire.wire_name(f.role or "").split(".")[1].split("[")[0])
                    for f in fields.MEDIA if getattr(request, f.name) is not None}
    assert places == {f.wire for f in fields_for(model)
                      if f.wire and f.name != "template"} | media_places
    shown = controls.model_updates(model_id, region, {}, "en")
    for f in FIELDS:
        if f.refusal is not None:
            key = controls.elem_id(f) + ("-inputs" if f.kind == "media" else "")
            assert shown[key]["visible"] is takes(model, f), (f.name, model_id)


@pytest.mark.parametrize("model_id,region", DEPLOYED)
def test_every_field_goes_out_and_comes_back(model_id: str, region: str) -> None:
    model = catalog.model_in_region(model_id, region)
    assert model is not None
    changes = {"template": model.templates[0], "prompt": ""} if model.templates else {}
    request = validate(everything(model, region, **changes), check_media=False)
    payload = json.loads(json.dumps(to_payload(request, *media_urls(request))))
    assert validate(from_payload(payload, region), check_media=False) == request.replace(
        **({"prompt_extend": True, "negative_prompt": ""} if model.templates else {}))


@pytest.mark.parametrize("name", [f.name for f in FIELDS if f.refusal is not None])
def test_a_value_for_a_missing_capability_is_refused_with_its_reason(name: str) -> None:
    field = fields.BY_NAME[name]
    without = next(m for _, r in DEPLOYED for m in [catalog.model_in_region(_, r)]
                   if m is not None and not takes(m, field))
    region = without.regions[0]
    value = {"media": AUDIO, "checkbox": False}.get(field.kind, "multi" if name == "shot_type"
                                                   else "flying")
    with pytest.raises(InvalidInput) as caught:
        validate(VideoRequest(model=without.id, region=region, image=IMG, **{name: value}),
                 check_media=False)
    assert caught.value.field == name
    assert caught.value.rule == field.refusal(without, region)  # type: ignore[misc]


@pytest.mark.parametrize("name,value,rule", [
    ("prompt", 42, "42 is not text"), ("watermark", "yes", "'yes' is not true or false"),
    ("duration", 5.0, "5.0 is not a whole number"), ("seed", True, "True is not a whole number"),
    ("resolution", 720, "720 is not text"),
])
def test_values_of_the_wrong_type_are_refused(name: str, value: Any, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(VideoRequest(model="wan2.6-i2v-flash", image=IMG, **{name: value}),
                 check_media=False)
    assert (caught.value.field, caught.value.rule) == (name, rule)


def test_blank_optional_media_is_no_media() -> None:
    assert validate(VideoRequest(model="wan2.6-i2v", image=IMG, audio_url="  ")).audio_url is None


def test_the_cli_has_a_flag_per_field_and_builds_the_request(
        capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    shown = capsys.readouterr().out
    assert all(f.flag in shown for f in FIELDS if f.flag)
    argv = ["--model", "wanx2.1-i2v-turbo", "--image", IMG, "--template", "flying",
            "--prompt", "p", "--negative-prompt", "n", "--audio", AUDIO, "--resolution", "480P",
            "--no-prompt-extend", "--duration", "4", "--shot-type", "single", "--no-audio",
            "--watermark", "--seed", "3", "--region", "beijing"]
    args = build_parser().parse_args(["generate", *argv])
    assert request_from_args(args) == VideoRequest(
        model="wanx2.1-i2v-turbo", image=IMG, template="flying", prompt="p",
        negative_prompt="n", audio_url=AUDIO, resolution="480P", prompt_extend=False,
        duration=4, shot_type="single", audio=False, watermark=True, seed=3, region="beijing")
    plain = request_from_args(build_parser().parse_args(
        ["generate", "--model", "wan2.6-i2v", "--image", IMG]))
    assert plain == VideoRequest(model="wan2.6-i2v", image=IMG)  # every default kept


@pytest.mark.parametrize("f", [f for f in FIELDS if f.wire is not None and len(f.wire) == 2
                               and f.json_type is not int], ids=lambda f: f.name)
def test_the_simulator_checks_each_wire_type(raw: Any, f: fields.Field) -> None:
    body: dict[str, Any] = {"model": "wan2.6-i2v-flash", "input": {"img_url": IMG},
                            "parameters": {}}
    wrong = 1 if f.json_type is str else "yes"
    section, key = f.wire  # type: ignore[misc]
    body[section][key] = wrong
    answer = raw.create(body)
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameter"
    assert answer.json()["message"].startswith(f"{section}.{key}: must be ")
