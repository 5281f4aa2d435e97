"""The create call's refusals, over real HTTP with plain httpx: codes, statuses, messages."""

from __future__ import annotations

import pytest

from client.error_codes import ERROR_CODES
from tests.integration.helpers import Raw, data_uri, payload
from tests.media_factory import image_bytes


def refused(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code, body
    assert body["request_id"] and "output" not in body
    return body["message"]


def test_no_key(sim):
    raw = Raw(sim, None)
    assert (
        refused(raw.create(payload("wan2.2-i2v-flash")), 401, "InvalidApiKey")
        == "No API-key provided."
    )
    body = raw.http.get("/tasks/abc").json()
    assert body["message"] == "No API-key provided."


def test_invalid_key(sim):
    raw = Raw(sim, "sk-invalid-123")
    assert (
        refused(raw.create(payload("wan2.2-i2v-flash")), 401, "InvalidApiKey")
        == "Invalid API-key provided."
    )
    assert raw.list().status_code == 401


def test_missing_async_header(raw):
    message = refused(
        raw.create(payload("wan2.2-i2v-flash"), async_header=False), 403, "AccessDenied"
    )
    assert message == "current user api does not support synchronous calls."


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "BadRequest.IllegalInput"),
        (b"[1, 2]", "BadRequest.IllegalInput"),
        (b'{"input": {"img_url": "x"}}', "BadRequest.EmptyModel"),
        (b'{"model": "", "input": {}}', "BadRequest.EmptyModel"),
        (b'{"model": "wan2.2-i2v-flash"}', "BadRequest.EmptyInput"),
        (b'{"model": "wan2.2-i2v-flash", "input": null}', "BadRequest.EmptyInput"),
    ],
)
def test_bad_request_codes(raw, body, code):
    assert refused(raw.create(body), 400, code) == ERROR_CODES[code].message


@pytest.mark.parametrize("model", ["wan2.6-i2v-us", "wan2.1-i2v-plus", "wan9-i2v", "wan2.6-t2v"])
def test_model_not_in_region(raw, model):
    assert refused(raw.create(payload(model)), 404, "ModelNotFound") == "Model not exist."


@pytest.mark.parametrize(
    "model, params, field",
    [
        ("wan2.2-i2v-flash", {"duration": 7}, "parameters.duration"),
        ("wan2.6-i2v-flash", {"duration": 16}, "parameters.duration"),
        ("wan2.6-i2v-flash", {"duration": "5"}, "parameters.duration"),
        ("wan2.6-i2v", {"resolution": "480P"}, "parameters.resolution"),
        ("wan2.2-i2v-plus", {"resolution": "720P"}, "parameters.resolution"),
        ("wan2.5-i2v-preview", {"shot_type": "multi"}, "parameters.shot_type"),
        ("wan2.6-i2v", {"shot_type": "triple"}, "parameters.shot_type"),
        ("wan2.6-i2v", {"shot_type": "multi", "prompt_extend": False}, "parameters.shot_type"),
        ("wan2.6-i2v", {"audio": False}, "parameters.audio"),
        ("wan2.2-i2v-flash", {"audio_url": "https://example.com/a.mp3"}, "input.audio_url"),
        ("wan2.6-i2v", {"template": "flying"}, "input.template"),
        ("wanx2.1-i2v-turbo", {"template": "melt"}, "input.template"),
        ("wanx2.1-i2v-plus", {"template": "no-such-effect"}, "input.template"),
        ("wan2.2-i2v-flash", {"prompt": "x" * 801}, "input.prompt"),
        ("wan2.6-i2v", {"negative_prompt": "y" * 501}, "input.negative_prompt"),
        ("wan2.2-i2v-flash", {"prompt": "bell\x07"}, "input.prompt"),
        ("wan2.2-i2v-flash", {"seed": -1}, "parameters.seed"),
        ("wan2.2-i2v-flash", {"seed": 2**31}, "parameters.seed"),
        ("wan2.2-i2v-flash", {"prompt_extend": "yes"}, "parameters.prompt_extend"),
        ("wan2.2-i2v-flash", {"watermark": 1}, "parameters.watermark"),
        ("wan2.2-i2v-flash", {"prompt": 42}, "input.prompt"),
        ("wan2.2-i2v-flash", {"resolution": 720}, "parameters.resolution"),
    ],
)
def test_invalid_parameter_names_the_field(raw, model, params, field):
    message = refused(raw.create(payload(model, **params)), 400, "InvalidParameter")
    assert message.startswith(field + ":"), message


def test_missing_image_names_img_url(raw):
    body = {"model": "wan2.2-i2v-flash", "input": {"prompt": "a cat"}}
    assert refused(raw.create(body), 400, "InvalidParameter").startswith("input.img_url:")


def test_input_and_parameters_must_be_objects(raw):
    assert "input" in refused(
        raw.create({"model": "wan2.2-i2v-flash", "input": "cat"}), 400, "InvalidParameter"
    )
    body = {"model": "wan2.2-i2v-flash", "input": {"img_url": data_uri()}, "parameters": [1]}
    assert "parameters" in refused(raw.create(body), 400, "InvalidParameter")


def test_oss_url_needs_the_resolve_header(raw):
    body = payload("wan2.2-i2v-flash", "oss://dashscope-instant/abc/2025-01-01/x/cat.png")
    refused(raw.create(body), 400, "invalid_parameter_error")
    refused(
        raw.create(body, headers={"X-DashScope-OssResourceResolve": "enable"}),
        400,
        "InvalidParameter.DataInspection",
    )


def test_local_path_is_not_a_url_the_service_can_read(raw):
    message = refused(
        raw.create(payload("wan2.2-i2v-flash", "/home/me/cat.png")), 400, "InvalidURL"
    )
    assert "input.img_url" in message


def test_unreachable_http_image(raw):
    body = payload("wan2.2-i2v-flash", "http://127.0.0.1:9/cat.png")
    refused(raw.create(body), 400, "InvalidParameter.DataInspection")


@pytest.mark.parametrize(
    "image, code, words",
    [
        ("data:image/png;base64," + "aGVsbG8=", "InvalidParameter.DataInspection", "not supported"),
        ("data:image/png;base64,@@@", "InvalidParameter", "base64"),
        ("data:image/jpeg;base64,", "InvalidParameter", "empty"),
    ],
)
def test_bad_data_uri_images(raw, image, code, words):
    message = refused(raw.create(payload("wan2.2-i2v-flash", image)), 400, code)
    assert "input.img_url" in message and words in message


@pytest.mark.parametrize(
    "w, h, fmt, words",
    [
        (200, 400, "JPEG", "width is 200 px"),
        (400, 2400, "PNG", "height is 2400 px"),
    ],
)
def test_image_rules(raw, w, h, fmt, words):
    message = refused(raw.create(payload("wan2.2-i2v-flash", data_uri(w, h, fmt))), 400,
                      "InvalidParameter")
    assert message.startswith("input.img_url:") and words in message


def test_transparent_png_is_refused(raw):
    import base64

    uri = "data:image/png;base64," + base64.b64encode(image_bytes(400, 400, "PNG", "RGBA")).decode()
    message = refused(raw.create(payload("wan2.2-i2v-flash", uri)), 400, "InvalidParameter")
    assert "alpha" in message


def test_sdk_extra_keys_are_accepted(raw):
    body = {
        "model": "wan2.2-i2v-flash",
        "input": {
            "prompt": None,
            "extend_prompt": True,
            "function": "image_reference",
            "img_url": data_uri(),
        },
        "parameters": {},
    }
    answer = raw.create(body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["task_status"] == "PENDING"


def test_unknown_route_is_not_found(raw):
    assert raw.http.get("/no/such/thing", headers=raw.headers).status_code == 404
