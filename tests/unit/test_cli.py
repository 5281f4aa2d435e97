"""python -m client: the models table, generate's flags, output and exit codes (0 / 1 / 2)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from client import catalog, recovery, tasks
from client.__main__ import main

KEY = "sk-cli-test"
RESULT = "https://result.test/v.mp4"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000
URL = "https://example.com/cat.jpg"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.delenv("DASHSCOPE_HTTP_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    now = [1_000_000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(tasks, "_now", lambda: now[0])
    monkeypatch.setattr(tasks, "_sleep", sleep)
    monkeypatch.setattr(recovery, "_sleep", sleep)


class Service:
    """Any API host: getPolicy, create, status (RUNNING then `final`), result, OSS POST."""

    def __init__(self, final: dict | None = None, create: httpx.Response | None = None) -> None:
        self.final = final or {"task_status": "SUCCEEDED", "video_url": RESULT}
        self.create = create
        self.requests: list[httpx.Request] = []
        self.polls = 0
        self.listed = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if str(request.url) == RESULT:
            return httpx.Response(200, content=MP4, headers={"Content-Type": "video/mp4"})
        if request.url.host == "oss.test":
            return httpx.Response(200)
        if path.endswith("/uploads"):
            return httpx.Response(200, json={"data": {
                "policy": "p", "signature": "s", "upload_dir": "d", "upload_host":
                "https://oss.test", "oss_access_key_id": "id"}})
        if path.endswith("/video-synthesis"):
            return self.create or httpx.Response(
                200, json={"output": {"task_id": "cli-1", "task_status": "PENDING"}})
        if path.endswith("/tasks"):
            self.listed += 1
            return httpx.Response(200, json={"total": 0, "total_page": 0, "data": []})
        self.polls += 1
        output = {"task_status": "RUNNING"} if self.polls == 1 else self.final
        return httpx.Response(200, json={"output": {"task_id": "cli-1", **output}})

    def of_create(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/video-synthesis")]

    def body(self) -> dict:
        (create,) = self.of_create()
        return json.loads(create.content)

    def hosts(self) -> set[str]:
        return {r.url.host for r in self.requests if r.url.path.startswith("/api/v1")
                or r.url.path.startswith("/v1")}


def run_cli(argv: list[str], service: Service) -> int:
    return main(argv, transport=httpx.MockTransport(service))


def test_models_table_lists_every_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for model in catalog.MODELS.values():
        line = next(l for l in out.splitlines() if l.startswith(model.id + " "))
        assert model.default_resolution + "*" in line
    assert "2–15" in out and catalog.PRICES_CHECKED in out


def test_generate_prints_the_saved_path(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    service = Service()
    code = run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL, "--prompt", "hi"],
                   service)
    captured = capsys.readouterr()
    assert code == 0
    saved = Path(captured.out.strip())
    assert saved == tmp_path / "cli-1.mp4" and saved.read_bytes() == MP4
    assert "cli-1" in captured.err and "SUCCEEDED" in captured.err


def test_generate_with_every_flag(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    Image.new("RGB", (640, 480), (10, 200, 90)).save(image)
    out = tmp_path / "clips" / "mine.mp4"
    out.parent.mkdir()
    service = Service()
    code = run_cli(["generate", "--model", "wan2.6-i2v-flash", "--image", str(image),
                    "--prompt", "p", "--negative-prompt", "n", "--audio",
                    "https://example.com/a.mp3", "--no-audio", "--resolution", "720P",
                    "--duration", "12", "--shot-type", "single", "--seed", "9",
                    "--no-prompt-extend", "--watermark", "--region", "singapore",
                    "--base-url", "https://sim.test/api/v1", "--out", str(out)], service)
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out) and out.read_bytes() == MP4
    assert service.body() == {
        "model": "wan2.6-i2v-flash",
        "input": {"img_url": "oss://d/frame.png", "prompt": "p", "negative_prompt": "n",
                  "audio_url": "https://example.com/a.mp3"},
        "parameters": {"resolution": "720P", "duration": 12, "prompt_extend": False,
                       "shot_type": "single", "audio": False, "watermark": True, "seed": 9}}
    create = next(r for r in service.requests if r.url.path.endswith("/video-synthesis"))
    assert create.headers["x-dashscope-ossresourceresolve"] == "enable"


@pytest.mark.parametrize("argv,flag", [
    (["--model", "wan2.5-i2v-preview", "--duration", "7"], "--duration"),
    (["--model", "wan2.2-i2v-plus", "--shot-type", "multi"], "--shot-type"),
    (["--model", "wan2.6-i2v", "--no-audio"], "--no-audio"),
    (["--model", "wan2.6-i2v-us"], "--model"),  # not offered in Beijing
    (["--model", "wanx2.1-i2v-turbo", "--template", "dance1"], "--template"),
    (["--model", "wan2.6-i2v", "--seed", "-1"], "--seed"),
])
def test_invalid_input_exits_2_and_sends_nothing(capsys: pytest.CaptureFixture, argv, flag):
    service = Service()
    assert run_cli(["generate", "--image", URL, *argv], service) == 2
    assert capsys.readouterr().err.startswith(f"error: {flag}:")
    assert service.requests == []


def test_missing_local_image_exits_2(capsys: pytest.CaptureFixture) -> None:
    service = Service()
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", "missing.png"], service) == 2
    assert "image" in capsys.readouterr().err and service.requests == []


def test_missing_key_exits_2_and_sends_nothing(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY")
    service = Service()
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL], service) == 2
    assert "DASHSCOPE_API_KEY" in capsys.readouterr().err and service.requests == []


@pytest.mark.parametrize("status,code", [(400, "InvalidParameter"), (401, "InvalidApiKey"),
                                         (403, "AccessDenied.Unpurchased")])
def test_api_refusal_exits_1_with_the_code(capsys: pytest.CaptureFixture, status, code) -> None:
    service = Service(create=httpx.Response(status, json={"code": code, "message": "no",
                                                          "request_id": "r"}))
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL], service) == 1
    err = capsys.readouterr().err
    assert f"[{code}]" in err and KEY not in err
    assert service.listed == 0  # a refusal made no task: nothing to look for


def test_a_5xx_on_create_is_checked_in_the_task_list_before_saying_not_sent(
        capsys: pytest.CaptureFixture) -> None:
    service = Service(create=httpx.Response(500, json={"code": "InternalError", "message": "no",
                                                       "request_id": "r"}))
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL], service) == 1
    err = capsys.readouterr().err
    assert "error: NotSent:" in err and "HTTP 500" in err and "safe to send it again" in err
    assert service.listed >= 1 and len(service.of_create()) == 1


def test_resume_saves_the_video_of_a_task_id(capsys: pytest.CaptureFixture,
                                             tmp_path: Path) -> None:
    service = Service()
    assert run_cli(["resume", "cli-1", "--out", str(tmp_path / "again.mp4")], service) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "again.mp4")
    assert (tmp_path / "again.mp4").read_bytes() == MP4 and service.of_create() == []


def test_failed_task_exits_1_with_the_code(capsys: pytest.CaptureFixture) -> None:
    service = Service(final={"task_status": "FAILED", "code": "DataInspectionFailed",
                             "message": "inappropriate content"})
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL], service) == 1
    captured = capsys.readouterr()
    assert "DataInspectionFailed" in captured.err and captured.out == ""


def test_base_url_flag_beats_env_beats_region(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["generate", "--model", "wan2.6-i2v", "--image", URL, "--region", "singapore"]
    service = Service()
    assert run_cli(argv, service) == 0
    assert service.hosts() == {"dashscope-intl.aliyuncs.com"}

    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "https://env.test/api/v1")
    service = Service()
    assert run_cli(argv, service) == 0
    assert service.hosts() == {"env.test"}

    service = Service()
    assert run_cli([*argv, "--base-url", "https://flag.test/api/v1"], service) == 0
    assert service.hosts() == {"flag.test"}


def test_live_status_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert run_cli(["generate", "--model", "wan2.6-i2v", "--image", URL], Service()) == 0
    text = terminal.getvalue()
    assert text.count("\r\x1b[K") >= 3 and "RUNNING" in text and text.endswith("\n")
