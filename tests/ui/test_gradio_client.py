"""The studio launched for real on a loopback port, called the way gradio_client users call it."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from gradio_client import Client, handle_file

from client.request import predict_output_size
from tests.media_factory import write_image
from ui.app import build_app, launch_options
from ui.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(settings: Settings) -> Iterator[str]:
    demo = build_app(settings)
    _, url, _ = demo.launch(**launch_options(settings), prevent_thread_lock=True,
                            server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture
def studio_url(sim: Any, tmp_path: Path) -> Iterator[str]:
    yield from launch(Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                               task_seconds_hint=0.3, state_secret="test-secret"))


def generate_args(image: Path, **changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "image": handle_file(str(image)), "img_url": "", "audio_file": None, "audio_url": "",
        "prompt": "The rocket lifts off.", "negative_prompt": "", "model": "wan2.2-i2v-flash",
        "region": "beijing", "resolution": "480P", "duration": 5, "shot_type": "single",
        "audio": True, "template": "", "seed": -1, "prompt_extend": True, "watermark": False,
        "api_key": ""}
    args.update(changes)
    return args


def test_generate_returns_an_mp4_of_the_predicted_size(studio_url: str, tmp_path: Path) -> None:
    image = write_image(tmp_path / "portrait.jpg", 750, 1000)
    client = Client(studio_url, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)
    endpoint = api["named_endpoints"]["/generate"]
    names = [p["parameter_name"] for p in endpoint["parameters"]]
    assert names[:10] == ["image", "img_url", "audio_file", "audio_url", "prompt",
                          "negative_prompt", "model", "region", "resolution", "duration"]
    status, video, record = client.predict(**generate_args(image, resolution="720P"),
                                           api_name="/generate")
    assert status.startswith("✓") and record["status"] == "SUCCEEDED" and record["task_id"]
    with av.open(video if isinstance(video, str) else video["video"]) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == \
            predict_output_size(750, 1000, "720P") == (816, 1104)
        assert container.format.name.startswith("mov,mp4")


def test_a_refused_request_raises_the_sentence(studio_url: str, tmp_path: Path) -> None:
    image = write_image(tmp_path / "p.jpg", 750, 1000)
    client = Client(studio_url, verbose=False)
    with pytest.raises(Exception) as caught:
        client.predict(**generate_args(image, model="wan2.5-i2v-preview", duration=7,
                                       resolution="720P"), api_name="/generate")
    text = str(caught.value)
    assert "length" in text and "5, 10" in text and "Traceback" not in text


def test_private_endpoint_cannot_spend_the_host_key(sim: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-host-only")
    settings = Settings(has_host_key=True, base_url=sim.base_url, api_visibility="private",
                        cache_dir=tmp_path / "cache", state_secret="s")
    for url in launch(settings):
        client = Client(url, verbose=False)
        assert "/generate" not in client.view_api(return_format="dict",
                                                  print_info=False)["named_endpoints"]
        before = len(sim.requests)
        with pytest.raises(ValueError, match="generate"):  # the client finds no such endpoint
            client.predict(**generate_args(write_image(tmp_path / "p.jpg", 750, 1000)),
                           api_name="/generate")
        assert len(sim.requests) == before


def test_choice_controls_take_any_value_after_gradio_rebuilds_them(tmp_path: Path) -> None:
    # When an event changes a component's choices, Gradio rebuilds it for that session from its
    # class (gradio/blocks.py, postprocess_data). A value the page sent a moment before must
    # still reach validate() and its field-naming message, not Gradio's "not in the list".
    demo = build_app(Settings(simulator_url="http://127.0.0.1:9/api/v1", cache_dir=tmp_path,
                              state_secret="test-secret"))
    by_id = {block.elem_id: block for block in demo.blocks.values()
             if getattr(block, "elem_id", None)}
    for elem_id in ("region", "model", "template", "resolution", "shot-type"):
        block = by_id[elem_id]
        with warnings.catch_warnings():  # "value not in the choices": the case being made
            warnings.simplefilter("ignore", UserWarning)
            rebuilt = type(block)(**{**block.constructor_args, "choices": ["480P", "720P"],
                                     "render": False})
        assert rebuilt.preprocess("1080P") == "1080P", elem_id
        assert rebuilt.get_block_name() in ("radio", "dropdown"), elem_id  # drawn as before


def test_new_media_parameters_may_be_left_out(studio_url: str) -> None:
    client = Client(studio_url, verbose=False)
    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"][
        "/generate"]
    params = {p["parameter_name"]: p for p in endpoint["parameters"]}
    for name in ("last_frame", "last_frame_url", "first_clip", "first_clip_url", "image"):
        assert params[name]["parameter_has_default"], name  # older callers leave them out


def test_generate_with_a_last_frame(studio_url: str, tmp_path: Path) -> None:
    first = write_image(tmp_path / "first.jpg", 640, 480)
    last = write_image(tmp_path / "last.jpg", 300, 300)  # another shape: the first one decides
    client = Client(studio_url, verbose=False)
    status, video, record = client.predict(
        **generate_args(first, model="wan2.7-i2v", resolution="720P", duration=3,
                        last_frame=handle_file(str(last))), api_name="/generate")
    assert status.startswith("✓") and record["status"] == "SUCCEEDED"
    assert record["request"]["last_frame"].startswith("upload:")  # kept by name, not by path
    with av.open(video if isinstance(video, str) else video["video"]) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == predict_output_size(640, 480, "720P")
        assert round(float(container.duration / 1e6)) == 3


def test_generate_continues_a_clip(studio_url: str, tmp_path: Path) -> None:
    from tests.media_factory import write_clip

    clip = write_clip(tmp_path / "clip.mp4", 2.0, 320, 240)
    client = Client(studio_url, verbose=False)
    args = generate_args(write_image(tmp_path / "ignored.jpg", 640, 640), model="wan2.7-i2v",
                         resolution="720P", duration=4, first_clip=handle_file(str(clip)))
    status, video, record = client.predict(**args, api_name="/generate")
    assert status.startswith("✓"), status
    assert record["request"]["image"] is None  # the clip replaced the picture
    assert record["request"]["first_clip"].startswith("upload:")
    with av.open(video if isinstance(video, str) else video["video"]) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == predict_output_size(320, 240, "720P")
        assert round(float(container.duration / 1e6)) == 4  # the clip counts in the length
    with pytest.raises(Exception) as caught:  # the clip and a length it already fills
        client.predict(**{**args, "duration": 2}, api_name="/generate")
    assert "length" in str(caught.value) and "at least 3 s" in str(caught.value)
