"""validate(): one test per rule, each failing if the rule is removed; payload and size rules."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from client.errors import InvalidInput
from client.request import (
    VideoRequest,
    check_public_url,
    estimated_price,
    from_payload,
    has_sound,
    predict_output_size,
    to_payload,
    validate,
)

URL = "https://example.com/cat.png"


def req(**kw) -> VideoRequest:
    kw.setdefault("model", "wan2.6-i2v-flash")
    kw.setdefault("image", URL)
    return VideoRequest(**kw)


def refused(request: VideoRequest, field: str) -> str:
    with pytest.raises(InvalidInput) as info:
        validate(request, check_media=False)
    assert info.value.field == field
    return str(info.value)


def test_a_plain_request_passes_and_gets_defaults():
    ok = validate(req(), check_media=False)
    assert (ok.resolution, ok.duration) == ("1080P", 5)


def test_model_not_offered_in_region():
    msg = refused(req(model="wan2.6-i2v-us", region="beijing"), "model")
    assert "not offered in China (Beijing)" in msg and "wan2.6-i2v-flash" in msg


def test_unknown_model_and_region():
    assert "unknown model" in refused(req(model="wan9"), "model")
    assert "unknown region" in refused(req(region="mars"), "region")


def test_resolution_not_allowed():
    msg = refused(req(model="wan2.2-i2v-plus", resolution="720P"), "resolution")
    assert "480P, 1080P" in msg


@pytest.mark.parametrize("model, duration", [
    ("wan2.6-i2v-flash", 16), ("wan2.6-i2v-flash", 1), ("wan2.5-i2v-preview", 7),
    ("wan2.2-i2v-flash", 10), ("wanx2.1-i2v-turbo", 2),
])
def test_duration_not_allowed(model, duration):
    refused(req(model=model, duration=duration), "duration")


def test_duration_on_the_virginia_deployment():
    refused(req(model="wan2.6-i2v", region="virginia", duration=7), "duration")
    ok = validate(req(model="wan2.6-i2v", region="virginia", duration=10), check_media=False)
    assert (ok.duration, ok.region) == (10, "virginia")


def test_duration_must_be_whole():
    refused(req(duration=5.5), "duration")
    refused(req(duration=True), "duration")


def test_shot_type_on_a_model_without_it():
    assert "wan2.6" in refused(req(model="wan2.5-i2v-preview", shot_type="multi"), "shot_type")


def test_unknown_shot_type():
    refused(req(shot_type="triple"), "shot_type")


def test_multi_shot_without_prompt_rewriting_is_refused():
    assert "prompt_extend" in refused(req(shot_type="multi", prompt_extend=False), "shot_type")
    ok = validate(req(shot_type="single", prompt_extend=False), check_media=False)
    assert (ok.shot_type, ok.prompt_extend) == ("single", False)


def test_audio_switch_only_on_flash():
    assert "always have sound" in refused(req(model="wan2.6-i2v", audio=False), "audio")
    assert "always silent" in refused(req(model="wan2.2-i2v-flash", audio=True), "audio")
    assert validate(req(audio=False), check_media=False).audio is False


@pytest.mark.parametrize("model", ["wan2.2-i2v-flash", "wan2.2-i2v-plus", "wanx2.1-i2v-plus"])
def test_audio_url_only_on_wan25_and_wan26(model):
    refused(req(model=model, audio_url="https://example.com/a.mp3"), "audio_url")


def test_audio_off_with_a_track_is_told():
    ok = validate(req(audio=False, audio_url="https://example.com/a.mp3"), check_media=False)
    assert any("not used" in n for n in ok.notices)


def test_template_rules():
    assert "does not take effect templates" in refused(req(template="flying"), "template")
    msg = refused(req(model="wan2.1-i2v-plus", region="singapore", template="flying"), "template")
    assert "only in the Beijing region" in msg
    msg = refused(req(model="wanx2.1-i2v-turbo", template="melt"), "template")
    assert "flying" in msg and "no template 'melt'" in msg
    ok = validate(req(model="wanx2.1-i2v-plus", template="melt", prompt="x"), check_media=False)
    assert any("prompt is not used" in n for n in ok.notices)


@pytest.mark.parametrize("model, limit", [("wan2.6-i2v-flash", 1500), ("wan2.2-i2v-flash", 800)])
def test_prompt_limit_names_limit_and_length(model, limit):
    assert validate(req(model=model, prompt="字" * limit), check_media=False).prompt == "字" * limit
    msg = refused(req(model=model, prompt="字" * (limit + 3)), "prompt")
    assert f"{limit + 3} characters" in msg and f"limit of {limit}" in msg


def test_negative_prompt_limit():
    assert "limit of 500" in refused(req(negative_prompt="n" * 501), "negative_prompt")


def test_control_characters_are_refused_but_newlines_and_emoji_pass():
    assert "U+0007" in refused(req(prompt="bell\x07"), "prompt")
    text = "line one\nline two 🎬 שלום"
    assert validate(req(prompt=text), check_media=False).prompt == text


@pytest.mark.parametrize("seed", [-1, 2_147_483_648, "7", True])
def test_seed_range(seed):
    refused(req(seed=seed), "seed")


def test_seed_bounds_pass():
    for seed in (0, 2_147_483_647):
        assert validate(req(seed=seed), check_media=False).seed == seed


def test_missing_image():
    refused(req(image=None), "image")
    refused(req(image="  "), "image")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/a.png"])
def test_unusable_schemes(url):
    refused(req(image=url), "image")


def test_overlong_url():
    refused(req(image="https://example.com/" + "a" * 10_000), "image")


def test_audio_as_data_uri_is_refused():
    refused(req(audio_url="data:audio/wav;base64,AAAA"), "audio_url")


def _png_data_uri(w: int, h: int, mode: str = "RGB") -> str:
    buf = io.BytesIO()
    Image.new(mode, (w, h), "red").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_data_uri_image_is_probed():
    inline = _png_data_uri(400, 400)
    assert validate(req(image=inline)).image == inline
    assert "360" in refused_media(req(image=_png_data_uri(300, 400)))
    assert "transparency" in refused_media(req(image=_png_data_uri(400, 400, "RGBA")))


def refused_media(request: VideoRequest) -> str:
    with pytest.raises(InvalidInput) as info:
        validate(request)
    assert info.value.field == "image"
    return str(info.value)


def test_missing_local_file(tmp_path):
    assert "no such file" in refused_media(req(image=str(tmp_path / "gone.png")))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/a.png", "http://localhost:8080/a.png", "http://10.0.0.5/a.png",
    "http://192.168.1.2/a.png", "http://[::1]/a.png", "file:///etc/passwd", "javascript:alert(1)",
])
def test_public_url_rule(url):
    with pytest.raises(InvalidInput):
        check_public_url(url, "image")


@pytest.mark.parametrize("url", ["https://example.com/a.png", "http://93.184.215.14/a.png",
                                 "https://cdn.example.org:8443/p/q.jpg?x=1"])
def test_public_url_passes(url):
    assert check_public_url(url, "image") is None  # no refusal
    assert to_payload(validate(req(image=url), check_media=False), url)["input"]["img_url"] == url


def test_output_size_example_from_the_guide():
    assert predict_output_size(750, 1000, "720P") == (816, 1104)


@pytest.mark.parametrize("w, h, tier", [(1920, 1080, "1080P"), (512, 512, "480P"), (427, 640, "720P")])
def test_output_size_keeps_aspect_and_sixteen(w, h, tier):
    ow, oh = predict_output_size(w, h, tier)
    assert ow % 16 == 0 and oh % 16 == 0
    assert abs(ow / oh - w / h) < 0.05
    assert (w >= h) == (ow >= oh)


def test_payload_leaves_out_what_the_model_does_not_take():
    r = validate(req(model="wan2.2-i2v-plus", prompt="cat", resolution="480P"), check_media=False)
    assert to_payload(r, URL) == {
        "model": "wan2.2-i2v-plus",
        "input": {"img_url": URL, "prompt": "cat"},
        "parameters": {"resolution": "480P", "prompt_extend": True, "watermark": False},
    }


def test_template_payload_has_no_prompt():
    r = validate(req(model="wanx2.1-i2v-turbo", template="flying", prompt="ignored"), check_media=False)
    payload = to_payload(r, URL)
    assert payload["input"] == {"img_url": URL, "template": "flying"}
    assert "prompt_extend" not in payload["parameters"]


def test_from_payload_round_trips_and_ignores_sdk_extras():
    r = validate(req(prompt="p", audio=False, shot_type="multi", seed=3, duration=9), check_media=False)
    payload = to_payload(r, URL)
    payload["input"].update(extend_prompt=True, function=None)
    back = from_payload(payload, "beijing")
    assert validate(back, check_media=False) == r


def test_sound_and_price():
    assert has_sound(req()) and not has_sound(req(audio=False))
    assert not has_sound(req(model="wan2.2-i2v-flash"))
    assert estimated_price(validate(req(audio=False, duration=10), check_media=False)) == (2.5, "CNY")
