"""Task lifecycle over plain HTTP: status shapes per family, videos, keys, cancel, list, uploads."""

from __future__ import annotations

import base64
import functools
import io
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from client.error_codes import ERROR_CODES
from client.request import predict_output_size
from tests.integration.helpers import Raw, assert_video, data_uri, payload
from tests.media_factory import image_bytes, write_image

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")


def test_pending_running_succeeded_shapes(start_sim, api_key):
    raw = Raw(start_sim(task_seconds=2, limits=False), api_key)  # 0.5 s PENDING: seen under load
    task_id = raw.submit(payload("wan2.2-i2v-flash", prompt="a kite", resolution="480P"))
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + 30
    while "SUCCEEDED" not in seen and time.monotonic() < deadline:
        body = raw.status(task_id)
        seen.setdefault(body["output"]["task_status"], body)
        time.sleep(0.01)
    assert list(seen) == ["PENDING", "RUNNING", "SUCCEEDED"]
    pending, running, done = (seen[s]["output"] for s in ("PENDING", "RUNNING", "SUCCEEDED"))
    assert set(pending) == {"task_id", "task_status", "submit_time"}
    assert set(running) == {"task_id", "task_status", "submit_time", "scheduled_time"}
    assert {"end_time", "video_url", "orig_prompt", "actual_prompt"} <= set(done)
    for stamp in (done["submit_time"], done["scheduled_time"], done["end_time"]):
        assert TIME.match(stamp), stamp
    assert done["submit_time"] <= done["scheduled_time"] <= done["end_time"]
    assert done["orig_prompt"] == "a kite" and done["actual_prompt"].startswith("a kite")
    assert "usage" not in seen["RUNNING"] and "video_url" not in running
    assert re.search(
        r"/results/\w+\.mp4\?Expires=\d+&OSSAccessKeyId=\w+&Signature=\w+$", done["video_url"]
    )


@pytest.mark.parametrize(
    "model, params, usage, actual_prompt",
    [
        (
            "wan2.6-i2v-flash",
            {"resolution": "720P", "duration": 2, "audio": False},
            {
                "duration": 2,
                "input_video_duration": 0,
                "output_video_duration": 2,
                "SR": 720,
                "video_count": 1,
                "audio": False,
            },
            False,
        ),
        (
            "wan2.6-i2v",
            {"resolution": "720P", "duration": 2},
            {
                "duration": 2,
                "input_video_duration": 0,
                "output_video_duration": 2,
                "SR": 720,
                "video_count": 1,
            },
            False,
        ),
        (
            "wan2.5-i2v-preview",
            {"resolution": "480P"},
            {"duration": 5, "SR": 480, "video_count": 1},
            True,
        ),
        (
            "wan2.2-i2v-plus",
            {"resolution": "480P"},
            {"duration": 5, "SR": 480, "video_count": 1},
            True,
        ),
        (
            "wanx2.1-i2v-turbo",
            {"resolution": "480P", "duration": 3},
            {"video_duration": 3, "video_count": 1, "video_ratio": "standard"},
            True,
        ),
        (
            "wanx2.1-i2v-turbo",
            {"resolution": "480P", "duration": 3, "prompt_extend": False},
            {"video_duration": 3, "video_count": 1, "video_ratio": "standard"},
            False,
        ),
    ],
)
def test_usage_and_prompt_fields_per_family(raw, model, params, usage, actual_prompt):
    body = raw.wait(raw.submit(payload(model, prompt="waves", **params)))
    assert body["output"]["task_status"] == "SUCCEEDED", body
    assert body["usage"] == usage
    assert ("actual_prompt" in body["output"]) is actual_prompt
    assert body["output"]["orig_prompt"] == "waves"


@pytest.mark.parametrize(
    "model, params, seconds, audio",
    [
        ("wan2.2-i2v-flash", {"resolution": "480P"}, 5, False),
        ("wan2.6-i2v-flash", {"resolution": "720P", "duration": 2}, 2, True),
        ("wan2.6-i2v-flash", {"resolution": "720P", "duration": 2, "audio": False}, 2, False),
        (
            "wanx2.1-i2v-turbo",
            {"resolution": "480P", "duration": 3, "template": "flying"},
            3,
            False,
        ),
    ],
)
def test_downloaded_video_matches_request(raw, tmp_path, model, params, seconds, audio):
    image = data_uri(360, 480)  # portrait 3:4
    expected = predict_output_size(360, 480, params["resolution"])
    body = raw.wait(raw.submit(payload(model, image, **params)))
    assert body["output"]["task_status"] == "SUCCEEDED", body
    path = raw.download(body["output"]["video_url"], tmp_path / "out.mp4")
    assert_video(path, width=expected[0], height=expected[1], seconds=seconds, audio=audio)


def test_exif_rotation_decides_the_output_shape(raw, tmp_path):
    im = Image.open(io.BytesIO(image_bytes(640, 400, "JPEG")))
    exif = im.getexif()
    exif[0x0112] = 6  # shown turned by 90°: 400 × 640 on screen
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    image = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    body = raw.wait(raw.submit(payload("wan2.2-i2v-flash", image, resolution="480P")))
    path = raw.download(body["output"]["video_url"], tmp_path / "rot.mp4")
    width, height = predict_output_size(400, 640, "480P")
    assert width < height
    assert_video(path, width=width, height=height, seconds=5, audio=False)


def test_unknown_task_id(raw):
    body = raw.status("1111")
    assert body["output"] == {"task_id": "1111", "task_status": "UNKNOWN"}
    assert body["request_id"]


def test_tasks_belong_to_the_key_that_made_them(sim, raw):
    task_id = raw.submit(payload("wan2.2-i2v-flash", resolution="480P"))
    other = Raw(sim, "sk-someone-else")
    try:
        assert other.status(task_id)["output"]["task_status"] == "UNKNOWN"
        assert other.cancel(task_id).json()["code"] == "UnsupportedOperation"
        assert task_id not in [t["task_id"] for t in other.list(page_size=100).json()["data"]]
    finally:
        other.close()
    assert raw.status(task_id)["output"]["task_status"] in ("PENDING", "RUNNING", "SUCCEEDED")
    accounts = {r.account for r in sim.requests if r.path.endswith(task_id)}
    assert len(accounts) == 2 and None not in accounts
    assert not any(
        "sk-someone-else" in repr(r) or raw.headers["Authorization"][7:] in repr(r)
        for r in sim.requests
    )


def test_cancel_pending_only(start_sim, api_key):
    slow = start_sim(task_seconds=8, limits=False)  # 2 s PENDING
    raw = Raw(slow, api_key)
    task_id = raw.submit(payload("wan2.2-i2v-flash", resolution="480P"))
    answer = raw.cancel(task_id)
    assert answer.status_code == 200 and answer.json()["request_id"]
    out = raw.status(task_id)["output"]
    assert out["task_status"] == "CANCELED" and TIME.match(out["end_time"])
    again = raw.cancel(task_id)
    assert again.status_code == 400
    assert again.json()["code"] == "UnsupportedOperation"
    assert again.json()["message"] == ERROR_CODES["UnsupportedOperation"].message
    assert raw.list(status="CANCELED").json()["total"] == 1


def test_cancel_running_is_refused(raw):
    task_id = raw.submit(payload("wan2.2-i2v-flash", resolution="480P"))
    while raw.status(task_id)["output"]["task_status"] == "PENDING":
        time.sleep(0.01)
    answer = raw.cancel(task_id)
    assert answer.status_code == 400 and answer.json()["code"] == "UnsupportedOperation"


def test_list_shape_filters_and_pages(raw):
    ids = [raw.submit(payload("wan2.2-i2v-flash", resolution="480P")) for _ in range(3)]
    ids.append(raw.submit(payload("wan2.6-i2v-flash", resolution="720P", duration=2, audio=False)))
    for task_id in ids:
        raw.wait(task_id)
    body = raw.list().json()
    assert {"request_id", "total", "total_page", "page_no", "page_size", "data"} == set(body)
    assert (body["total"], body["total_page"], body["page_no"], body["page_size"]) == (4, 1, 1, 10)
    assert [t["task_id"] for t in body["data"]] == ids[::-1]  # newest first
    row = body["data"][0]
    assert row["model_name"] == "wan2.6-i2v-flash" and row["region"] == "cn-beijing"
    assert row["status"] == "SUCCEEDED"
    assert row["gmt_create"] <= row["start_time"] <= row["end_time"]
    assert raw.list(model_name="wan2.2-i2v-flash").json()["total"] == 3
    assert raw.list(status="SUCCEEDED").json()["total"] == 4
    assert raw.list(status="FAILED").json()["total"] == 0
    page = raw.list(page_no=2, page_size=3).json()
    assert page["total_page"] == 2 and [t["task_id"] for t in page["data"]] == [ids[0]]
    assert raw.list(start_time="20990101000000").json()["total"] == 0
    assert raw.list(end_time="20990101000000").json()["total"] == 4


@pytest.mark.parametrize(
    "params, words",
    [
        ({"page_no": 0}, "page_no"),
        ({"page_size": "ten"}, "page_size"),
        ({"status": "DONE"}, "status"),
        ({"start_time": "2025-01-01"}, "start_time"),
    ],
)
def test_list_bad_params(raw, params, words):
    answer = raw.list(**params)
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameter"
    assert answer.json()["message"].startswith(words)


# --- uploads ------------------------------------------------------------------------------------


def get_policy(raw: Raw, model: str) -> dict:
    answer = raw.http.get(
        "/uploads", params={"action": "getPolicy", "model": model}, headers=raw.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def post_file(policy: dict, name: str, data: bytes, **overrides: str) -> httpx.Response:
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
        **overrides,
    }
    return httpx.post(policy["upload_host"], data=form, files={"file": (name, data)}, timeout=30)


def test_upload_flow_and_oss_create(raw, tmp_path):
    policy = get_policy(raw, "wan2.2-i2v-flash")
    assert {
        "policy",
        "signature",
        "upload_dir",
        "upload_host",
        "expire_in_seconds",
        "max_file_size_mb",
        "capacity_limit_mb",
        "oss_access_key_id",
        "x_oss_object_acl",
        "x_oss_forbid_overwrite",
    } <= set(policy)
    assert policy["upload_dir"].startswith("dashscope-instant/")
    assert post_file(policy, "cat.jpg", image_bytes(480, 360)).status_code == 200
    again = post_file(policy, "cat.jpg", image_bytes(480, 360))
    assert again.status_code == 409 and "FileAlreadyExists" in again.text
    url = f"oss://{policy['upload_dir']}/cat.jpg"
    body = raw.wait(
        raw.submit(
            payload("wan2.2-i2v-flash", url, resolution="480P"),
            headers={"X-DashScope-OssResourceResolve": "enable"},
        )
    )
    assert body["output"]["task_status"] == "SUCCEEDED"
    assert_video(
        raw.download(body["output"]["video_url"], tmp_path / "v.mp4"),
        width=predict_output_size(480, 360, "480P")[0],
        height=predict_output_size(480, 360, "480P")[1],
        seconds=5,
        audio=False,
    )


def test_upload_is_bound_to_account_and_model(sim, raw):
    policy = get_policy(raw, "wan2.2-i2v-flash")
    assert post_file(policy, "cat.jpg", image_bytes(480, 360)).status_code == 200
    url = f"oss://{policy['upload_dir']}/cat.jpg"
    oss = {"X-DashScope-OssResourceResolve": "enable"}
    wrong_model = raw.create(payload("wan2.2-i2v-plus", url, resolution="480P"), headers=oss)
    assert wrong_model.json()["code"] == "InvalidParameter.DataInspection"
    other = Raw(sim, "sk-another-account")
    try:
        answer = other.create(payload("wan2.2-i2v-flash", url, resolution="480P"), headers=oss)
        assert answer.json()["code"] == "InvalidParameter.DataInspection"
    finally:
        other.close()


def test_upload_refusals(raw):
    policy = get_policy(raw, "wan2.2-i2v-flash")
    bad_signature = post_file(policy, "a.jpg", b"x", Signature="0" * 40)
    assert (
        bad_signature.status_code == 403
        and "<Code>SignatureDoesNotMatch</Code>" in bad_signature.text
    )
    outside = post_file(policy, "a.jpg", b"x", key="elsewhere/a.jpg")
    assert outside.status_code == 403 and "Policy Condition failed" in outside.text
    answer = raw.http.get("/uploads", params={"action": "list", "model": "m"}, headers=raw.headers)
    assert answer.status_code == 400 and answer.json()["message"].startswith("action")
    answer = raw.http.get("/uploads", params={"action": "getPolicy"}, headers=raw.headers)
    assert answer.status_code == 400 and answer.json()["message"].startswith("model")


def test_expired_upload_policy(start_sim, api_key):
    raw = Raw(start_sim(policy_ttl_seconds=0), api_key)
    policy = get_policy(raw, "wan2.2-i2v-flash")
    time.sleep(0.01)
    answer = post_file(policy, "a.jpg", image_bytes(400, 400))
    assert answer.status_code == 403 and answer.headers["content-type"].startswith(
        "application/xml"
    )
    assert "<Code>AccessDenied</Code>" in answer.text
    assert "Invalid according to Policy: Policy expired." in answer.text


# --- result files -------------------------------------------------------------------------------


def test_result_url_expires(start_sim, api_key):
    raw = Raw(start_sim(result_ttl_seconds=0, limits=False), api_key)
    body = raw.wait(raw.submit(payload("wan2.2-i2v-flash", resolution="480P")))
    time.sleep(1.1)  # Expires has whole-second precision
    answer = httpx.get(body["output"]["video_url"])
    assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text
    assert "Request has expired." in answer.text


def test_result_url_signature_is_checked(raw):
    body = raw.wait(raw.submit(payload("wan2.2-i2v-flash", resolution="480P")))
    url = body["output"]["video_url"]
    assert httpx.get(url).status_code == 200
    tampered = re.sub(r"Expires=\d+", "Expires=9999999999", url)
    answer = httpx.get(tampered)
    assert answer.status_code == 403 and "SignatureDoesNotMatch" in answer.text
    unknown = re.sub(r"/results/\w+\.mp4", "/results/0000.mp4", url)
    assert httpx.get(unknown).status_code == 403  # signed for another name


def test_http_image_url_is_downloaded(start_sim, api_key, tmp_path):
    write_image(tmp_path / "cat.jpg", 360, 480)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    where = f"127.0.0.1:{server.server_address[1]}"
    raw = Raw(start_sim(limits=False, link_allow=(where,)), api_key)  # loopback: allowed for this
    try:
        url = f"http://{where}/cat.jpg"
        body = raw.wait(raw.submit(payload("wan2.2-i2v-flash", url, resolution="480P")))
        missing = raw.create(payload("wan2.2-i2v-flash", url + ".gone", resolution="480P"))
    finally:
        raw.close()
        server.shutdown()
        server.server_close()
    assert missing.json()["code"] == "InvalidParameter.DataInspection"
    width, height = predict_output_size(360, 480, "480P")
    video = raw.download(body["output"]["video_url"], tmp_path / "v.mp4")
    assert_video(video, width=width, height=height, seconds=5, audio=False)
