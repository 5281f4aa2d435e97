"""For every model × region: a request using every feature the model has, checked field by field
against expectations written from the spec (§2 capability matrix), not from the catalog."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from client import catalog
from client.request import VideoRequest, to_payload, validate

IMG = "https://example.com/first-frame.jpg"
AUDIO = "https://example.com/voice.mp3"
ALL_SECONDS = tuple(range(2, 16))


@dataclass(frozen=True)
class Spec:
    resolutions: tuple[str, ...]
    default_resolution: str
    durations: tuple[int, ...]  # a single value: fixed, not sent
    audio_switch: bool = False
    audio_url: bool = False
    shot_type: bool = False
    template: str | None = None  # one template the model takes in this region


# (model, region) -> what the spec says that deployment takes.
SPEC: dict[tuple[str, str], Spec] = {}
for region in ("beijing", "singapore"):
    SPEC["wan2.6-i2v-flash", region] = Spec(("720P", "1080P"), "1080P", ALL_SECONDS,
                                            audio_switch=True, audio_url=True, shot_type=True)
    SPEC["wan2.6-i2v", region] = Spec(("720P", "1080P"), "1080P", ALL_SECONDS,
                                      audio_url=True, shot_type=True)
    SPEC["wan2.5-i2v-preview", region] = Spec(("480P", "720P", "1080P"), "1080P", (5, 10),
                                              audio_url=True)
    SPEC["wan2.2-i2v-flash", region] = Spec(("480P", "720P", "1080P"), "720P", (5,))
    SPEC["wan2.2-i2v-plus", region] = Spec(("480P", "1080P"), "1080P", (5,))
SPEC["wan2.6-i2v", "virginia"] = Spec(("720P", "1080P"), "1080P", (5, 10, 15),
                                      audio_url=True, shot_type=True)
SPEC["wan2.6-i2v-us", "virginia"] = Spec(("720P", "1080P"), "1080P", (5, 10, 15),
                                         audio_url=True, shot_type=True)
SPEC["wanx2.1-i2v-plus", "beijing"] = Spec(("720P",), "720P", (5,), template="dance1")
SPEC["wanx2.1-i2v-turbo", "beijing"] = Spec(("480P", "720P"), "720P", (3, 4, 5),
                                            template="flying")
# Templates exist only in Beijing, so the Singapore wan2.1 names take none.
SPEC["wan2.1-i2v-plus", "singapore"] = Spec(("720P",), "720P", (5,))
SPEC["wan2.1-i2v-turbo", "singapore"] = Spec(("480P", "720P"), "720P", (3, 4, 5))

CATALOG_PAIRS = sorted((m, r) for m in catalog.MODELS for r in catalog.REGIONS  # the legacy body
                       if catalog.MODELS[m].protocol is catalog.Protocol.LEGACY
                       if catalog.model_in_region(m, r) is not None)


def test_catalog_offers_exactly_the_spec_deployments() -> None:
    assert set(CATALOG_PAIRS) == set(SPEC)


@pytest.mark.parametrize("model,region", CATALOG_PAIRS)
def test_payload_with_every_feature(model: str, region: str) -> None:
    spec = SPEC[model, region]
    resolution = spec.resolutions[0]  # not the default wherever there is a choice
    duration = spec.durations[-1]
    req = VideoRequest(
        model=model, region=region, image=IMG, prompt="a cat turns to the camera",
        negative_prompt="blurry, low quality", resolution=resolution, duration=duration,
        seed=42, watermark=True, prompt_extend=True,
        audio_url=AUDIO if spec.audio_url else None,
        audio=False if spec.audio_switch else None,
        shot_type="multi" if spec.shot_type else None)
    payload = to_payload(validate(req, check_media=False), IMG,
                         AUDIO if spec.audio_url else None)

    assert set(payload) == {"model", "input", "parameters"}
    assert payload["model"] == model
    expected_input = {"img_url": IMG, "prompt": "a cat turns to the camera",
                      "negative_prompt": "blurry, low quality"}
    if spec.audio_url:
        expected_input["audio_url"] = AUDIO
    assert payload["input"] == expected_input

    params = payload["parameters"]
    assert params.pop("resolution") == resolution
    if len(spec.durations) > 1:
        assert params.pop("duration") == duration
    assert params.pop("prompt_extend") is True
    assert params.pop("watermark") is True
    assert params.pop("seed") == 42
    if spec.shot_type:
        assert params.pop("shot_type") == "multi"
    if spec.audio_switch:
        assert params.pop("audio") is False
    assert params == {}, f"fields {model} does not take: {sorted(params)}"


@pytest.mark.parametrize("model,region", CATALOG_PAIRS)
def test_payload_with_defaults_only(model: str, region: str) -> None:
    spec = SPEC[model, region]
    req = validate(VideoRequest(model=model, region=region, image=IMG), check_media=False)
    payload = to_payload(req, IMG)
    expected_params: dict = {"resolution": spec.default_resolution, "prompt_extend": True,
                             "watermark": False}
    if len(spec.durations) > 1:
        expected_params["duration"] = 5  # every model's default duration is 5 s
    assert payload == {"model": model, "input": {"img_url": IMG}, "parameters": expected_params}


TEMPLATE_PAIRS = [(m, r) for (m, r), s in SPEC.items() if s.template]


@pytest.mark.parametrize("model,region", TEMPLATE_PAIRS)
def test_payload_with_a_template(model: str, region: str) -> None:
    spec = SPEC[model, region]
    duration = spec.durations[0]
    req = VideoRequest(model=model, region=region, image=IMG, template=spec.template,
                       resolution=spec.resolutions[0], duration=duration, seed=7)
    payload = to_payload(validate(req, check_media=False), IMG)
    # A template drives the video: no prompt (and so no prompt rewriting) is sent.
    assert payload["input"] == {"img_url": IMG, "template": spec.template}
    expected = {"resolution": spec.resolutions[0], "watermark": False, "seed": 7}
    if len(spec.durations) > 1:
        expected["duration"] = duration
    assert payload["parameters"] == expected


@pytest.mark.parametrize("url", ["oss://dashscope-instant/a/b/c.png",
                                 "data:image/png;base64,iVBORw0KGgo="])
def test_uploaded_and_inline_images_go_as_given(url: str) -> None:
    req = validate(VideoRequest(model="wan2.6-i2v", image=IMG), check_media=False)
    assert to_payload(req, url)["input"]["img_url"] == url
