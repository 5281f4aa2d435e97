"""wan2.7 (input.media[]) and first-and-last-frame (kf2v) bodies, for every model × region,
checked field by field against ../shared/spec/dashscope-media-and-kf2v.md §2.7 and §3.4 (the
expectations are written from the spec, not read from the catalog)."""

from __future__ import annotations

import json

import pytest

from client import catalog
from client.errors import InvalidInput
from client.protocols import IMAGE2VIDEO_PATH, VIDEO_GENERATION_PATH, wire_for
from client.request import VideoRequest, from_payload, to_payload, validate

FIRST, LAST = "https://e.com/first.png", "https://e.com/last.png"
CLIP, VOICE = "https://e.com/clip.mp4", "https://e.com/voice.mp3"
WAN27 = [("wan2.7-i2v", r) for r in ("beijing", "singapore")] + [
    ("wan2.7-i2v-2026-04-25", r) for r in ("beijing", "singapore")]
KF2V = [("wan2.2-kf2v-flash", "beijing"), ("wanx2.1-kf2v-plus", "beijing"),
        ("wan2.1-kf2v-plus", "singapore")]


def body(req: VideoRequest) -> dict:
    checked = validate(req, check_media=False)
    urls = [getattr(checked, name) for name in ("image", "audio_url", "last_frame", "first_clip")]
    return json.loads(json.dumps(to_payload(checked, *urls)))


def test_the_2026_models_are_offered_exactly_where_the_spec_says() -> None:
    pairs = {(m, r) for m in catalog.MODELS for r in catalog.REGIONS
             if catalog.model_in_region(m, r) is not None
             and catalog.MODELS[m].protocol is not catalog.Protocol.LEGACY}
    assert pairs == set(WAN27) | set(KF2V)  # no wan2.7 in Virginia (spec §1, UNCONFIRMED)


@pytest.mark.parametrize("model,region", WAN27)
def test_wan27_first_and_last_frame(model: str, region: str) -> None:
    sent = body(VideoRequest(model=model, region=region, image=FIRST, last_frame=LAST,
                             prompt="a cat looks up", negative_prompt="blur", resolution="720P",
                             duration=10, prompt_extend=False, watermark=True, seed=7))
    assert sent == {
        "model": model,
        "input": {"media": [{"type": "first_frame", "url": FIRST},
                            {"type": "last_frame", "url": LAST}],
                  "prompt": "a cat looks up", "negative_prompt": "blur"},
        "parameters": {"resolution": "720P", "prompt_extend": False, "duration": 10,
                       "watermark": True, "seed": 7},
    }
    assert wire_for(model).path == VIDEO_GENERATION_PATH


@pytest.mark.parametrize("model,region", WAN27)
def test_wan27_defaults_and_driving_audio(model: str, region: str) -> None:
    sent = body(VideoRequest(model=model, region=region, image=FIRST, audio_url=VOICE))
    assert sent["input"] == {"media": [{"type": "first_frame", "url": FIRST},
                                       {"type": "driving_audio", "url": VOICE}]}
    # 1080P and 5 s are the defaults; no shot_type, no audio switch, no img_url or audio_url.
    assert sent["parameters"] == {"resolution": "1080P", "prompt_extend": True, "duration": 5,
                                  "watermark": False}


@pytest.mark.parametrize("model,region", WAN27)
def test_wan27_continuation_with_a_last_frame(model: str, region: str) -> None:
    sent = body(VideoRequest(model=model, region=region, first_clip=CLIP, last_frame=LAST,
                             duration=15, prompt="she leaves"))
    assert sent["input"] == {"media": [{"type": "last_frame", "url": LAST},
                                       {"type": "first_clip", "url": CLIP}],
                             "prompt": "she leaves"}
    assert sent["parameters"]["duration"] == 15


@pytest.mark.parametrize("model,region", WAN27)
@pytest.mark.parametrize("changes,field,rule_part", [
    ({"first_clip": CLIP}, "first_clip", "cannot take a clip to continue together with a "
                                         "first-frame picture"),
    ({"image": None, "first_clip": CLIP, "audio_url": VOICE}, "first_clip",
     "cannot take a clip to continue together with an audio track"),
    ({"image": None, "last_frame": LAST}, "image", "a first-frame picture is required"),
    ({"image": None}, "image", "(or a clip to continue)"),
    ({"shot_type": "multi"}, "shot_type", "write the shots in the prompt"),
    ({"template": "flying"}, "template", "does not take effect templates"),
    ({"audio": False}, "audio", "has no sound switch"),
    ({"prompt": "x" * 5001}, "prompt", "over the limit of 5000"),
    ({"duration": 16}, "duration", "2–15 s"),
    ({"resolution": "480P"}, "resolution", "does not make 480P video"),
])
def test_wan27_refuses_what_the_service_refuses(model: str, region: str, changes: dict,
                                                field: str, rule_part: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(VideoRequest(model=model, region=region, **{"image": FIRST, **changes}),
                 check_media=False)
    assert caught.value.field == field
    assert rule_part in caught.value.rule


def test_wan27_takes_5000_characters() -> None:
    prompt = "镜" * 5000
    assert body(VideoRequest(model="wan2.7-i2v", image=FIRST, prompt=prompt))["input"][
        "prompt"] == prompt


@pytest.mark.parametrize("model,region", KF2V)
def test_kf2v_first_and_last_frame(model: str, region: str) -> None:
    sent = body(VideoRequest(model=model, region=region, image=FIRST, last_frame=LAST,
                             prompt="a cat looks up", seed=3))
    default = "720P"  # every kf2v model's default (spec §3.1)
    assert sent == {
        "model": model,
        "input": {"first_frame_url": FIRST, "prompt": "a cat looks up",
                  "last_frame_url": LAST},
        "parameters": {"resolution": default, "prompt_extend": True, "watermark": False,
                       "seed": 3},
    }  # duration is fixed at 5 and not sent
    assert wire_for(model).path == IMAGE2VIDEO_PATH


def test_kf2v_flash_resolutions() -> None:
    for tier in ("480P", "720P", "1080P"):
        sent = body(VideoRequest(model="wan2.2-kf2v-flash", image=FIRST, last_frame=LAST,
                                 resolution=tier))
        assert sent["parameters"]["resolution"] == tier
    with pytest.raises(InvalidInput, match="does not make 480P"):
        validate(VideoRequest(model="wan2.1-kf2v-plus", region="singapore", image=FIRST,
                              last_frame=LAST, resolution="480P"), check_media=False)


def test_kf2v_template_needs_only_the_first_frame() -> None:
    req = VideoRequest(model="wanx2.1-kf2v-plus", image=FIRST, last_frame=LAST, template="hanfu-1",
                       prompt="ignored")
    checked = validate(req, check_media=False)
    assert checked.last_frame is None
    assert "the last frame is not used" in " ".join(checked.notices)
    assert body(req) == {"model": "wanx2.1-kf2v-plus",
                         "input": {"first_frame_url": FIRST, "template": "hanfu-1"},
                         "parameters": {"resolution": "720P", "watermark": False}}


@pytest.mark.parametrize("model,region", KF2V)
@pytest.mark.parametrize("changes,field,rule_part", [
    ({"last_frame": None}, "last_frame", "add the last frame"),
    ({"first_clip": CLIP}, "first_clip", "takes no clip to continue; choose wan2.7-i2v"),
    ({"audio_url": VOICE}, "audio_url", "takes no audio"),
    ({"duration": 10}, "duration", "cannot make 10 s"),
    ({"template": "flying"}, "template", "template"),
    ({"prompt": "x" * 801}, "prompt", "over the limit of 800"),
])
def test_kf2v_refuses_what_the_service_refuses(model: str, region: str, changes: dict,
                                               field: str, rule_part: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(VideoRequest(model=model, region=region,
                              **{"image": FIRST, "last_frame": LAST, **changes}),
                 check_media=False)
    assert caught.value.field == field
    assert rule_part in caught.value.rule


def test_a_last_frame_on_a_legacy_model_names_the_models_that_take_one() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(VideoRequest(model="wan2.6-i2v", image=FIRST, last_frame=LAST),
                 check_media=False)
    assert caught.value.field == "last_frame"
    assert caught.value.rule == ("wan2.6-i2v takes no last frame; choose wan2.7-i2v, "
                                 "wan2.7-i2v-2026-04-25, wan2.2-kf2v-flash, wanx2.1-kf2v-plus")


@pytest.mark.parametrize("model,region", WAN27 + KF2V)
def test_bodies_read_back_as_the_request(model: str, region: str) -> None:
    req = validate(VideoRequest(model=model, region=region, image=FIRST, last_frame=LAST,
                                prompt="p"), check_media=False)
    urls = [req.image, req.audio_url, req.last_frame, req.first_clip]
    assert validate(from_payload(to_payload(req, *urls), region), check_media=False) == req


@pytest.mark.parametrize("input_section,rule", [
    ({"img_url": FIRST}, "Field required: input.media"),  # a legacy body (spec §2.6)
    ({"media": []}, "non-empty list"),
    ({"media": [{"type": "first_frame", "url": FIRST}, {"type": "first_frame", "url": LAST}]},
     "appears twice"),
    ({"media": [{"type": "reference_image", "url": FIRST}]}, "type 'reference_image'"),
    ({"media": [{"type": "first_frame"}]}, "string url"),
])
def test_a_media_list_the_service_refuses(input_section: dict, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        from_payload({"model": "wan2.7-i2v", "input": input_section}, "beijing")
    assert caught.value.field == "media" and rule in caught.value.rule


def test_legacy_img_url_beside_media_is_ignored() -> None:
    req = from_payload({"model": "wan2.7-i2v", "input": {
        "img_url": LAST, "media": [{"type": "first_frame", "url": FIRST}]}}, "beijing")
    assert (req.image, req.last_frame) == (FIRST, None)
