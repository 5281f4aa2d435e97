"""upload_file: getPolicy, the OSS form POST (fields, order, no key), streaming from disk."""

from __future__ import annotations

import tracemalloc
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import httpx
import pytest

from client.errors import AccessDenied, InvalidInput, ServiceError
from client.http import WanClient
from client.uploads import object_name, upload_file

pytestmark = pytest.mark.anyio
KEY = "sk-upload-test-key"
BASE = "https://api.test/api/v1"
HOST = "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com"
POLICY = {
    "policy": "eyJleHBpcmF0aW9uIjoi", "signature": "c2lnbmF0dXJl", "upload_dir":
    "dashscope-instant/abc123/2026-02-12/uuid-1", "upload_host": HOST,
    "expire_in_seconds": 300, "max_file_size_mb": 100, "capacity_limit_mb": 999999999,
    "oss_access_key_id": "LTAI-test", "x_oss_object_acl": "private",
    "x_oss_forbid_overwrite": "true",
}


class FakeService:
    """getPolicy on the API host, the form POST on the OSS host."""

    def __init__(self, policy: dict | None = None, oss_answer: httpx.Response | None = None):
        self.policy = POLICY if policy is None else policy
        self.oss_answer = oss_answer or httpx.Response(200)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "api.test":
            return httpx.Response(200, json={"request_id": "r1", "data": self.policy})
        return self.oss_answer


def client_for(service) -> WanClient:
    return WanClient(KEY, base_url=BASE, transport=httpx.MockTransport(service), max_retries=0)


def form_parts(request: httpx.Request) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name, body) of each multipart part, in order."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    parts = []
    for part in message.iter_parts():
        params = dict(part.get_params(header="content-disposition")[1:])
        parts.append((params["name"], params.get("filename"), part.get_payload(decode=True)))
    return parts


async def test_upload_flow(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG fake picture bytes")
    service = FakeService()
    async with client_for(service) as client:
        url = await upload_file(client, image, "wan2.6-i2v-flash")

    key = POLICY["upload_dir"] + "/cat.png"
    assert url == "oss://" + key
    policy_call, oss_call = service.requests
    assert policy_call.method == "GET" and policy_call.url.path == "/api/v1/uploads"
    assert dict(policy_call.url.params) == {"action": "getPolicy", "model": "wan2.6-i2v-flash"}
    assert policy_call.headers["authorization"] == f"Bearer {KEY}"

    assert oss_call.method == "POST" and str(oss_call.url).rstrip("/") == HOST
    assert "authorization" not in oss_call.headers
    assert KEY.encode() not in oss_call.content
    parts = form_parts(oss_call)
    assert [name for name, _, _ in parts] == [
        "OSSAccessKeyId", "policy", "Signature", "key", "x-oss-object-acl",
        "x-oss-forbid-overwrite", "success_action_status", "file"]
    values = {name: body for name, _, body in parts}
    assert values["OSSAccessKeyId"] == b"LTAI-test"
    assert values["policy"] == POLICY["policy"].encode()
    assert values["Signature"] == POLICY["signature"].encode()
    assert values["key"] == key.encode()
    assert values["x-oss-object-acl"] == b"private"
    assert values["x-oss-forbid-overwrite"] == b"true"
    assert values["success_action_status"] == b"200"
    assert parts[-1][1] == "cat.png" and parts[-1][2] == image.read_bytes()


def test_object_names_are_url_safe() -> None:
    assert object_name(Path("my photo (1).JPG")) == "my_photo_1.jpg"
    assert object_name(Path("照片.png")) == "file.png"
    assert object_name(Path("a-b_c.9.wav")) == "a-b_c.9.wav"


async def test_incomplete_policy_is_a_service_error(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(b"x")
    service = FakeService(policy={k: v for k, v in POLICY.items() if k != "upload_host"})
    async with client_for(service) as client:
        with pytest.raises(ServiceError):
            await upload_file(client, image, "wan2.6-i2v")
    assert len(service.requests) == 1


async def test_oss_refusal_is_mapped_from_its_xml(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(b"x")
    xml = ("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Invalid according "
           "to Policy: Policy expired.</Message><RequestId>oss-7</RequestId></Error>")
    service = FakeService(oss_answer=httpx.Response(403, text=xml))
    async with client_for(service) as client:
        with pytest.raises(AccessDenied) as info:
            await upload_file(client, image, "wan2.6-i2v")
    assert "Policy expired" in str(info.value)
    assert (info.value.status, info.value.code, info.value.request_id) == (
        403, "AccessDenied", "oss-7")


async def test_file_over_the_policy_limit_is_refused_before_sending(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    with big.open("wb") as f:
        f.truncate(2 * 1024 * 1024)
    service = FakeService(policy=POLICY | {"max_file_size_mb": 1})
    async with client_for(service) as client:
        with pytest.raises(InvalidInput) as info:
            await upload_file(client, big, "wan2.6-i2v")
    assert info.value.field == "file" and "1 MB" in str(info.value)
    assert len(service.requests) == 1  # only getPolicy


async def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    service = FakeService()
    async with client_for(service) as client:
        with pytest.raises(InvalidInput):
            await upload_file(client, tmp_path / "nope.png", "wan2.6-i2v")
    assert service.requests == []


class StreamingSink(httpx.AsyncBaseTransport):
    """Answers getPolicy; drains the OSS upload chunk by chunk (MockTransport would buffer it)."""

    def __init__(self) -> None:
        self.uploaded = 0
        self.largest_chunk = 0
        self.content_length: int | None = None
        self.stream_type: type | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(200, json={"data": POLICY | {"max_file_size_mb": 1024}})
        self.stream_type = type(request.stream)
        self.content_length = int(request.headers["content-length"])
        async for chunk in request.stream:
            self.uploaded += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        return httpx.Response(200)


async def test_upload_streams_from_disk(tmp_path: Path) -> None:
    size = 96 * 1024 * 1024
    sparse = tmp_path / "huge.mp3"
    with sparse.open("wb") as f:
        f.truncate(size)
    sink = StreamingSink()
    async with WanClient(KEY, base_url=BASE, transport=sink) as client:
        tracemalloc.start()
        try:
            await upload_file(client, sparse, "wan2.6-i2v")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.uploaded > size and sink.uploaded == sink.content_length
    assert sink.stream_type is not httpx.ByteStream
    assert sink.largest_chunk <= 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while uploading {size / 1e6:.0f} MB"
