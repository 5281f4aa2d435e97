"""The official dashscope SDK pointed at the simulator runs the vendor guide's examples, and
gets what our client gets."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio
import dashscope
import httpx
from dashscope import VideoSynthesis

from client.http import WanClient
from client.jobs import run
from client.request import VideoRequest, has_sound, predict_output_size
from client.simulator.state import account_of
from client.status import Succeeded
from tests.integration.helpers import assert_video, video_facts
from tests.media_factory import image_bytes, write_image

SIZE = (480, 360)


def b64_image() -> str:
    return "data:image/jpeg;base64," + base64.b64encode(image_bytes(*SIZE)).decode()


def save(url: str, dest: Path) -> Path:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    dest.write_bytes(answer.content)
    return dest


def succeeded(rsp: Any) -> Any:
    assert rsp.status_code == 200, (rsp.code, rsp.message)
    assert rsp.output.task_status == "SUCCEEDED", rsp.output
    return rsp


def ours(sim, api_key: str, req: VideoRequest, out: Path) -> tuple[Succeeded, Path]:
    """The same request through our client: (final status, video)."""

    async def go() -> tuple[Succeeded, Path]:
        final, video = None, None
        async with WanClient(api_key, base_url=sim.base_url) as client:
            async for event in run(client, req, out, deadline=60):
                if isinstance(event, Path):
                    video = event
                else:
                    final = event.status
        assert isinstance(final, Succeeded) and video is not None
        return final, video

    return anyio.run(go)


def test_call_with_base64_image_matches_our_client(sdk_sim, api_key, tmp_path):
    rsp = succeeded(
        VideoSynthesis.call(
            api_key=api_key,
            model="wan2.5-i2v-preview",
            prompt="a paper boat drifts",
            img_url=b64_image(),
            resolution="480P",
            duration=5,
            prompt_extend=True,
        )
    )
    req = VideoRequest(
        model="wan2.5-i2v-preview",
        image=b64_image(),
        prompt="a paper boat drifts",
        resolution="480P",
        duration=5,
    )
    final, video = ours(sdk_sim, api_key, req, tmp_path / "ours")
    assert rsp.usage.duration == final.usage.raw["duration"] == 5
    assert rsp.usage.SR == final.usage.raw["SR"] == 480
    assert rsp.output.orig_prompt == final.orig_prompt
    assert rsp.output.actual_prompt == final.actual_prompt
    theirs = video_facts(save(rsp.output.video_url, tmp_path / "sdk.mp4"))
    assert theirs == video_facts(video)
    width, height = predict_output_size(*SIZE, "480P")
    assert_video(video, width=width, height=height, seconds=5, audio=True)


def test_async_call_wait_fetch_list(sdk_sim, api_key):
    rsp = VideoSynthesis.async_call(
        api_key=api_key,
        model="wan2.2-i2v-flash",
        prompt="leaves",
        img_url=b64_image(),
        resolution="480P",
    )
    assert rsp.status_code == 200 and rsp.output.task_status == "PENDING"
    task_id = rsp.output.task_id
    done = succeeded(VideoSynthesis.wait(rsp, api_key=api_key))
    fetched = succeeded(VideoSynthesis.fetch(task_id, api_key=api_key))
    assert fetched.output.video_url == done.output.video_url
    assert fetched.usage.duration == 5 and fetched.usage.SR == 480
    listed = VideoSynthesis.list(api_key=api_key, model_name="wan2.2-i2v-flash", status="SUCCEEDED")
    assert listed.status_code == 200
    assert listed.output["total"] == 1 and listed.output["data"][0]["task_id"] == task_id
    assert listed.request_id


def test_cancel(start_sim, api_key, monkeypatch):
    slow = start_sim(task_seconds=8, limits=False)
    monkeypatch.setattr(dashscope, "base_http_api_url", slow.base_url)
    rsp = VideoSynthesis.async_call(
        api_key=api_key, model="wan2.2-i2v-flash", img_url=b64_image(), resolution="480P"
    )
    assert VideoSynthesis.cancel(rsp, api_key=api_key).status_code == 200
    assert VideoSynthesis.fetch(rsp, api_key=api_key).output.task_status == "CANCELED"
    again = VideoSynthesis.cancel(rsp, api_key=api_key)
    assert again.status_code == 400 and again.code == "UnsupportedOperation"
    assert again.message == (
        "Failed to cancel the task, please confirm if the task is in PENDING status."
    )


def test_local_file_goes_through_the_upload_flow(sdk_sim, api_key, tmp_path):
    image = write_image(tmp_path / "cat.jpg", *SIZE)
    rsp = succeeded(
        VideoSynthesis.call(
            api_key=api_key,
            model="wan2.2-i2v-flash",
            prompt="a cat yawns",
            img_url=f"file://{image}",
            resolution="480P",
        )
    )
    mine = [r.route for r in sdk_sim.requests if r.account == account_of(api_key)]
    assert mine[:3] == ["policy", "create", "status"]
    assert any(r.route == "upload" for r in sdk_sim.requests)
    width, height = predict_output_size(*SIZE, "480P")
    assert_video(
        save(rsp.output.video_url, tmp_path / "v.mp4"),
        width=width,
        height=height,
        seconds=5,
        audio=False,
    )


def test_template_call(sdk_sim, api_key, tmp_path):
    rsp = succeeded(
        VideoSynthesis.call(
            api_key=api_key,
            model="wanx2.1-i2v-turbo",
            template="flying",
            img_url=b64_image(),
            resolution="480P",
            duration=3,
        )
    )
    assert rsp.usage.video_duration == 3 and rsp.usage.video_ratio == "standard"
    width, height = predict_output_size(*SIZE, "480P")
    assert_video(
        save(rsp.output.video_url, tmp_path / "t.mp4"),
        width=width,
        height=height,
        seconds=3,
        audio=False,
    )


def test_audio_off_on_wan26_flash_matches_our_client(sdk_sim, api_key, tmp_path):
    rsp = succeeded(
        VideoSynthesis.call(
            api_key=api_key,
            model="wan2.6-i2v-flash",
            prompt="rain on a window",
            img_url=b64_image(),
            resolution="720P",
            duration=2,
            audio=False,
        )
    )
    assert rsp.usage.audio is False and rsp.usage.SR == 720
    assert "actual_prompt" not in rsp.output  # never on wan2.6
    req = VideoRequest(
        model="wan2.6-i2v-flash",
        image=b64_image(),
        prompt="rain on a window",
        resolution="720P",
        duration=2,
        audio=False,
    )
    assert not has_sound(req)
    final, video = ours(sdk_sim, api_key, req, tmp_path / "ours")
    assert final.usage.raw == {k: v for k, v in rsp.usage.items() if k in final.usage.raw}
    assert video_facts(save(rsp.output.video_url, tmp_path / "sdk.mp4")) == video_facts(video)
    assert not video_facts(video).has_audio


def test_errors_reach_the_sdk(sdk_sim, api_key):
    bad_key = VideoSynthesis.async_call(
        api_key="sk-invalid-1", model="wan2.2-i2v-flash", img_url=b64_image()
    )
    assert (bad_key.status_code, bad_key.code, bad_key.message) == (
        401,
        "InvalidApiKey",
        "Invalid API-key provided.",
    )
    bad_duration = VideoSynthesis.async_call(
        api_key=api_key, model="wan2.2-i2v-flash", img_url=b64_image(), duration=10
    )
    assert bad_duration.status_code == 400 and bad_duration.code == "InvalidParameter"
    assert bad_duration.message.startswith("parameters.duration")
    other_region = VideoSynthesis.async_call(
        api_key=api_key, model="wan2.6-i2v-us", img_url=b64_image()
    )
    assert other_region.status_code == 404 and other_region.code == "ModelNotFound"
    unknown = VideoSynthesis.fetch("no-such-task", api_key=api_key)
    assert unknown.status_code == 200 and unknown.output.task_status == "UNKNOWN"
