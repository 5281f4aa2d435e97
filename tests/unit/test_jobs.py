"""submit() and run(): media routing (upload / pass through), the OSS header, terminal outcomes."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from client.errors import InvalidInput, TaskCanceled, TaskExpired, TaskFailed, WaitTimeout
from client.http import WanClient
from client.jobs import Submitted, run, submit
from client.request import VideoRequest
from client.status import Pending, Succeeded
from client.tasks import Progress
from tests.media_factory import write_wav

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("clock")]  # client.tasks on a fake clock
KEY = "sk-jobs-test"
BASE = "https://api.test/api/v1"
OSS_HOST = "https://oss.test"
RESULT = "https://result.test/v.mp4"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
URL = "https://example.com/cat.jpg"


def jpeg_bytes(w: int = 640, h: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


class FakeDashScope:
    """getPolicy, OSS form POST, create, a scripted status sequence and the result file."""

    def __init__(self, statuses: list[dict] | None = None) -> None:
        self.statuses = statuses or [
            {"task_status": "PENDING"},
            {"task_status": "RUNNING"},
            {"task_status": "SUCCEEDED", "video_url": RESULT},
        ]
        self.requests: list[httpx.Request] = []
        self.uploads = 0

    def of(self, method: str, path_end: str) -> list[httpx.Request]:
        return [r for r in self.requests
                if r.method == method and str(r.url).split("?")[0].endswith(path_end)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url.startswith(BASE + "/uploads"):
            self.uploads += 1
            return httpx.Response(200, json={"data": {
                "policy": "p", "signature": "s", "upload_dir": f"dir/{self.uploads}",
                "upload_host": OSS_HOST, "oss_access_key_id": "id", "max_file_size_mb": 100}})
        if url.startswith(OSS_HOST):
            return httpx.Response(200)
        if url.endswith("/video-synthesis"):
            return httpx.Response(200, json={"output": {"task_id": "job-1",
                                                        "task_status": "PENDING"}})
        if url.startswith(BASE + "/tasks/job-1"):
            output = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return httpx.Response(200, json={"output": {"task_id": "job-1", **output}})
        if url == RESULT:
            return httpx.Response(200, content=MP4, headers={"Content-Type": "video/mp4"})
        return httpx.Response(404, json={"code": "NotFound", "message": url})

    def created(self) -> tuple[httpx.Request, dict]:
        (request,) = self.of("POST", "/video-synthesis")
        return request, json.loads(request.content)


def client_for(service: FakeDashScope, region: str = "beijing") -> WanClient:
    return WanClient(KEY, region=region, base_url=BASE, transport=httpx.MockTransport(service),
                     max_retries=0)


async def test_local_image_is_uploaded_and_sent_as_oss(tmp_path: Path) -> None:
    image = tmp_path / "cat.jpg"
    image.write_bytes(jpeg_bytes())
    service = FakeDashScope()
    async with client_for(service) as client:
        submitted = await submit(client, VideoRequest(model="wan2.6-i2v-flash", image=image,
                                                      prompt="a cat"))
    assert isinstance(submitted, Submitted) and submitted.task_id == "job-1"
    assert submitted.request.resolution == "1080P" and submitted.request.duration == 5
    (policy,) = service.of("GET", "/uploads")
    assert policy.url.params["model"] == "wan2.6-i2v-flash"
    (upload,) = [r for r in service.requests if r.url.host == "oss.test"]
    assert "authorization" not in upload.headers
    request, body = service.created()
    assert body["input"]["img_url"] == "oss://dir/1/cat.jpg"
    assert request.headers["x-dashscope-ossresourceresolve"] == "enable"
    assert submitted.payload == body


async def test_local_audio_is_uploaded_too(tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "voice.wav", 4.0, rate=8000)
    service = FakeDashScope()
    async with client_for(service) as client:
        await submit(client, VideoRequest(model="wan2.6-i2v", image=URL, audio_url=str(audio)))
    _, body = service.created()
    assert body["input"] == {"img_url": URL, "audio_url": "oss://dir/1/voice.wav"}
    assert len(service.of("GET", "/uploads")) == 1


@pytest.mark.parametrize("image", [
    URL,
    "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode(),
])
async def test_urls_and_data_uris_pass_through_without_the_oss_header(image: str) -> None:
    service = FakeDashScope()
    async with client_for(service) as client:
        await submit(client, VideoRequest(model="wan2.2-i2v-flash", image=image))
    request, body = service.created()
    assert body["input"]["img_url"] == image
    assert "x-dashscope-ossresourceresolve" not in request.headers
    assert service.of("GET", "/uploads") == []


async def test_an_oss_url_given_by_the_caller_gets_the_header() -> None:
    service = FakeDashScope()
    async with client_for(service) as client:
        await submit(client, VideoRequest(model="wan2.5-i2v-preview", image="oss://dir/x.png"))
    request, _ = service.created()
    assert request.headers["x-dashscope-ossresourceresolve"] == "enable"


@pytest.mark.parametrize("req", [
    VideoRequest(model="wan2.5-i2v-preview", image=URL, duration=7),
    VideoRequest(model="wan2.2-i2v-plus", image=URL, audio_url="https://example.com/a.mp3"),
    VideoRequest(model="wan2.6-i2v", image="/no/such/file.png"),
    VideoRequest(model="wan2.6-i2v", image=URL, region="singapore"),  # client is for beijing
])
async def test_invalid_requests_send_nothing(req: VideoRequest) -> None:
    service = FakeDashScope()
    async with client_for(service) as client:
        with pytest.raises(InvalidInput):
            await submit(client, req)
    assert service.requests == []


async def test_run_yields_progress_then_the_saved_video(tmp_path: Path) -> None:
    service = FakeDashScope()
    async with client_for(service) as client:
        items = [item async for item in run(client, VideoRequest(model="wan2.6-i2v", image=URL),
                                            tmp_path / "videos")]
    *progress, saved = items
    assert saved == tmp_path / "videos" / "job-1.mp4" and saved.read_bytes() == MP4
    assert all(isinstance(p, Progress) for p in progress)
    assert progress[0].status == Pending(task_id="job-1") and progress[0].polls == 0
    names = [p.status.name for p in progress if p.changed]
    assert names == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert isinstance(progress[-1].status, Succeeded)
    (download,) = [r for r in service.requests if str(r.url) == RESULT]
    assert "authorization" not in download.headers


@pytest.mark.parametrize("final,error,code", [
    ({"task_status": "FAILED", "code": "DataInspectionFailed", "message": "inappropriate"},
     TaskFailed, "DataInspectionFailed"),
    ({"task_status": "CANCELED"}, TaskCanceled, None),
    ({"task_status": "UNKNOWN"}, TaskExpired, None),
])
async def test_run_raises_on_tasks_that_end_without_a_video(tmp_path: Path, final, error,
                                                            code) -> None:
    service = FakeDashScope(statuses=[{"task_status": "RUNNING"}, final])
    async with client_for(service) as client:
        with pytest.raises(error) as info:
            async for _ in run(client, VideoRequest(model="wan2.6-i2v", image=URL), tmp_path):
                pass
    assert type(info.value) is error and info.value.code == code
    assert "job-1" in str(info.value)
    assert list(tmp_path.iterdir()) == []


async def test_run_deadline(tmp_path: Path) -> None:
    service = FakeDashScope(statuses=[{"task_status": "RUNNING"}])
    async with client_for(service) as client:
        with pytest.raises(WaitTimeout):
            async for _ in run(client, VideoRequest(model="wan2.6-i2v", image=URL), tmp_path,
                               deadline=30):
                pass


async def test_a_huge_local_image_is_refused_unread_and_unsent(tmp_path: Path) -> None:
    import tracemalloc

    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.truncate(200 * 1024 * 1024)
    service = FakeDashScope()
    tracemalloc.start()
    try:
        async with client_for(service) as client:
            with pytest.raises(InvalidInput, match="10 MB"):
                await submit(client, VideoRequest(model="wan2.6-i2v", image=huge))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert service.requests == [] and peak < 5 * 1024 * 1024
