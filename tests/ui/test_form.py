"""The form made from the field list: its inputs and their order, form ↔ request, the builder,
one probe per picture, and curl / SDK code that is the payload itself."""

from __future__ import annotations

import inspect
import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import dashscope
import gradio as gr
import pytest
from dashscope import VideoSynthesis

from client import catalog, media
from client.catalog import LAST_FRAME
from client.fields import FIELDS, MEDIA
from client.request import VideoRequest, to_payload, validate
from client.simulator.state import account_of
from tests.media_factory import write_image, write_wav
from ui import preview
from ui.controls import elem_id
from ui.form import INPUT_NAMES, PUBLIC_ORDER, Form, build_request, form_values
from ui.preview import SDK_INPUT_KEYWORDS, STAND_INS, curl_code, preview_outputs, sdk_code
from ui.widgets import FormBuilder

DEPLOYED = [(m.id, r) for r in catalog.REGIONS for m in catalog.models_in_region(r)]


def full_form(model: catalog.Model, region: str) -> Any:
    """A form setting every input a person can set for this model."""
    return Form(img_url="https://example.com/p.jpg", audio_url="https://example.com/a.mp3",
                last_frame_url="https://example.com/last.jpg", prompt="a cat",
                negative_prompt="blur", model=model.id, region=region,
                resolution=model.resolutions[0], duration=float(model.durations[-1]),
                shot_type="multi", audio=False, template=(model.templates or ("",))[0],
                seed=11.0, prompt_extend=True, watermark=True)


def test_generate_keeps_its_parameters_and_takes_every_field() -> None:
    assert INPUT_NAMES[:len(PUBLIC_ORDER)] == PUBLIC_ORDER
    names = [f.name for f in FIELDS if f.kind != "media"]
    names += [n for f in MEDIA for n in (f.file_input, f.link_input)]
    assert sorted(INPUT_NAMES) == sorted(names)


@pytest.mark.parametrize("model_id,region", DEPLOYED)
def test_a_request_goes_back_into_the_form_unchanged(model_id: str, region: str) -> None:
    model = catalog.model_in_region(model_id, region)
    assert model is not None
    req = build_request(full_form(model, region))
    again = build_request(Form(**form_values(req)))
    assert again == req and validate(again, check_media=False).model == model_id
    assert (req.audio_url is None) is (not model.accepts_audio_url)
    assert (req.last_frame is None) is (LAST_FRAME not in model.roles)
    assert (req.shot_type == "multi") is model.accepts_shot_type
    assert (req.prompt == "") is bool(model.templates)  # a template replaces the prompt


def test_uploads_and_links_go_back_to_their_own_inputs(tmp_path: Path) -> None:
    upload = str(write_image(tmp_path / "p.jpg", 640, 480))
    req = VideoRequest(model="wan2.6-i2v", image=upload, audio_url="https://example.com/v.mp3")
    values = form_values(req)
    assert (values["image"], values["img_url"]) == (upload, "")
    assert (values["audio_file"], values["audio_url"]) == (None, "https://example.com/v.mp3")
    assert (values["seed"], values["shot_type"], values["audio"], values["template"]) == \
        (-1, "single", True, "")  # what the controls show for "not set"


def test_fields_the_layout_does_not_name_come_at_the_end_of_their_place() -> None:
    with gr.Blocks():
        form = FormBuilder("wan2.6-i2v-flash", "beijing")
        form.field("seed")
        form.rest("advanced")
        form.rest("picture")
    rest = [f for f in FIELDS if f.place == "advanced" and f.name != "seed"]
    picture = [f for f in FIELDS if f.place == "picture"]
    assert [c.elem_id for c in form.inputs.values()] == \
        ["seed", *(elem_id(f) for f in rest),
         *(i for f in picture for i in (elem_id(f), elem_id(f) + "-url"))]
    assert [f.name for f in rest[:3]] == ["negative_prompt", "prompt_extend", "watermark"]
    assert form.inputs["seed"].value == -1 and form.inputs["prompt_extend"].value is True
    assert form.parts["audio-inputs"].visible is True  # wan2.6-i2v-flash takes a voice track


def test_the_preview_after_a_prompt_edit_does_not_decode_the_picture_again(
        tmp_path: Path) -> None:
    media.clear_probe_cache()
    image = str(write_image(tmp_path / "p.jpg", 750, 1000))
    form = Form(image=image, prompt="a cat", model="wan2.6-i2v-flash", resolution="720P")
    before = media.probe_counts["image"]
    first = preview_outputs(form, "en", simulated=True)
    assert media.probe_counts["image"] == before + 1
    edited = replace(form, prompt="the cat jumps")
    size, _, curl, _ = preview_outputs(edited, "en", simulated=True)
    assert size == first[0] and size.startswith("816×1104 px")
    assert '"prompt": "the cat jumps"' in curl
    validate(build_request(edited), check_media=True)  # what Generate checks first
    assert media.probe_counts["image"] == before + 1


def test_curl_sends_the_payload_itself(tmp_path: Path) -> None:
    image = str(write_image(tmp_path / "p.jpg", 640, 480))
    req = validate(VideoRequest(model="wan2.6-i2v-flash", image=image, prompt="猫 'quoted'",
                                audio_url="https://example.com/v.mp3", shot_type="multi",
                                seed=5), check_media=False)
    code = curl_code(req)
    body = shlex.split(code.split(" -d ", 1)[1])[0]
    assert json.loads(body) == to_payload(req, STAND_INS["image"], "https://example.com/v.mp3")
    assert code.startswith("# Your picture is a local file")


def test_sdk_keywords_are_those_of_the_installed_sdk() -> None:
    call = inspect.signature(VideoSynthesis.call).parameters
    assert set(SDK_INPUT_KEYWORDS) <= set(call)
    inputs = {f.wire[1] for f in FIELDS if f.wire and f.wire[0] == "input"}
    assert inputs <= set(SDK_INPUT_KEYWORDS)
    # A parameter must not share a name with an input keyword, or the SDK would misplace it.
    assert not {f.wire[1] for f in FIELDS if f.wire and f.wire[0] == "parameters"} & \
        set(SDK_INPUT_KEYWORDS)
    args = preview.sdk_arguments({"model": "m", "input": {"img_url": "u", "new_key": 1},
                                  "parameters": {"seed": 2}})
    assert args == [("model", "m"), ("img_url", "u"), ("extra_input", {"new_key": 1}),
                    ("seed", 2)]


@pytest.mark.parametrize("changes", [
    {"model": "wan2.6-i2v-flash", "audio": False, "shot_type": "multi", "seed": 9,
     "negative_prompt": "blur", "duration": 3, "resolution": "720P", "watermark": True},
    {"model": "wan2.6-i2v", "prompt_extend": False, "with_audio": True},
    {"model": "wanx2.1-i2v-turbo", "template": "flying", "prompt": "", "duration": 4},
], ids=["flash", "audio-track", "template"])
def test_the_sdk_code_makes_the_same_task(changes: dict[str, Any], sim: Any, api_key: str,
                                          tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    image = str(write_image(tmp_path / "p.jpg", 640, 480))
    values = {"prompt": "a cat", **changes}
    audio = str(write_wav(tmp_path / "v.wav", 4)) if values.pop("with_audio", False) else None
    req = validate(VideoRequest(image=image, audio_url=audio, **values))
    code = sdk_code(req)
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
    monkeypatch.setenv("DASHSCOPE_API_KEY", api_key)
    runnable = (code.replace(catalog.REGIONS[req.region].base_url, sim.base_url)
                .replace("VideoSynthesis.call(", "VideoSynthesis.async_call(")
                .replace("print(response.output.video_url)", ""))
    scope: dict[str, Any] = {}
    exec(runnable, scope)  # noqa: S102 - the code the page shows, run as a person would
    response = scope["response"]
    assert response.status_code == 200, (response.code, response.message)
    task = sim.sim.store.task(response.output.task_id, account_of(api_key))
    made = task.request
    assert str(made.image).startswith("oss://")  # the SDK uploaded the local picture
    assert (made.audio_url is None) is (audio is None)
    assert made.replace(image=None, audio_url=None) == req.replace(image=None, audio_url=None)
