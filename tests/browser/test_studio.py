"""The studio in Debian's Chromium: upload, model-aware controls, generate, reload, Chinese."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import catalog
from client.catalog import Audio
from client.request import predict_output_size
from client.simulator.server import SimConfig, start_simulator
from tests.hardening.conftest import launched
from tests.media_factory import write_image
from ui.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
VIDEO_READY_JS = """() => { const v = document.querySelector('#video video');
                            return v !== null && v.readyState >= 2; }"""

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; see the README)",
                allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def studio() -> Iterator[str]:
    sim = start_simulator(SimConfig(task_seconds=1.5, limits=False))
    cache = Path(tempfile.mkdtemp(prefix="wan-studio-browser-"))
    settings = Settings(simulator_url=sim.base_url, cache_dir=cache, task_seconds_hint=1.5,
                        state_secret="browser-test")
    with launched(settings) as url:
        yield url
    sim.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: object, url: str, locale: str) -> object:
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#generate", timeout=30_000)
    # The load event's own line, not a running event's timer ("0.4s"): a control set before the
    # load event ends would be set back by it.
    page.wait_for_function("() => document.querySelector('#status').innerText"
                           ".replace(/processing|[0-9.\\/]+s|[|]/g, '').trim().length > 0",
                           timeout=30_000)
    return page


def choose_model(page: object, model_id: str) -> None:
    page.click("#model input")
    page.click(f'#model [role=option][aria-label^="{model_id} —"]')
    page.wait_for_function(
        "(id) => document.querySelector('#model-info').innerText.startsWith(id + ' —')",
        arg=model_id)
    page.wait_for_timeout(300)  # let the control updates render


def test_upload_controls_generate_reload(browser: object, studio: str, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    picture = write_image(tmp_path / "portrait.jpg", 750, 1000)
    page = open_page(browser, studio, "en-US")

    page.set_input_files("#image input[type=file]", str(picture))
    page.wait_for_function("() => document.querySelector('#image-info').innerText"
                           ".includes('750×1000 px')")

    # One model of every family: only the controls it takes are on the page.
    for model_id in ("wan2.6-i2v-flash", "wan2.6-i2v", "wan2.5-i2v-preview", "wan2.2-i2v-flash",
                     "wanx2.1-i2v-turbo"):
        model = catalog.model_in_region(model_id, "beijing")
        assert model is not None
        choose_model(page, model_id)
        expected = {
            "shot-type": model.accepts_shot_type,
            "audio-switch": model.audio is Audio.SWITCHABLE,
            "audio": model.accepts_audio_url,
            "template": bool(model.templates),
            "duration-slider": model.duration_is_range,
            "duration-choice": not model.duration_is_range,
            "prompt": True,
            "resolution": True,
        }
        for elem_id, shown in expected.items():
            control = sync_api.expect(page.locator(f"#{elem_id}"))
            control.to_be_visible() if shown else control.to_be_hidden()
        fixed_note = sync_api.expect(page.locator("#duration"))
        if model.duration_is_fixed:
            fixed_note.to_contain_text("only")
        else:
            fixed_note.not_to_contain_text("only")
        if model_id == "wan2.6-i2v-flash":
            page.screenshot(path=str(SCREENSHOTS / "controls-wan2.6-flash.png"), full_page=True)
        if model_id == "wanx2.1-i2v-turbo":
            page.click("#template input")
            page.click('#template [role=option][aria-label="Magic levitation"]')
            page.wait_for_selector("#prompt", state="hidden")
            assert "full body" in page.inner_text("#template-advice")
            page.screenshot(path=str(SCREENSHOTS / "controls-wan2.1-template.png"),
                            full_page=True)

    choose_model(page, "wan2.2-i2v-flash")
    page.click("#resolution label:has-text('480P')")
    width, height = predict_output_size(750, 1000, "480P")
    page.wait_for_function("(t) => document.querySelector('#output-size textarea, #output-size "
                           "input').value.startsWith(t)", arg=f"{width}×{height} px")
    page.fill("#prompt textarea", "The rocket lifts off slowly.")
    page.click("#generate")
    page.wait_for_function(VIDEO_READY_JS, timeout=60_000)
    status = page.inner_text("#status")
    assert "Finished" in status
    task_id = status.split("`")[1] if "`" in status else status.rsplit(" ", 1)[-1]
    page.screenshot(path=str(SCREENSHOTS / "studio-generated.png"), full_page=True)

    page.reload()
    page.wait_for_selector("#history-gallery", state="visible", timeout=30_000)
    page.wait_for_selector("#history-gallery img", timeout=30_000)
    assert task_id.strip(". ") in page.inner_text("#history-table")
    assert page.locator("#video video").count() == 0  # the player starts empty after a reload
    page.click("#history-gallery img")  # a history item plays in the player again
    page.wait_for_function(VIDEO_READY_JS, timeout=30_000)
    sync_api.expect(page.locator("#history-reuse")).to_be_visible()

    # "Use these settings again" after trying an example with a different model.
    page.click("#examples button:has-text('Cat balloon')")
    sync_api.expect(page.locator("#model-info")).to_contain_text("wanx2.1-i2v-turbo —")
    sync_api.expect(page.locator("#template input")).to_have_value("Balloon inflation")
    sync_api.expect(page.locator("#prompt")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "example-template.png"), full_page=True)
    page.click("#history-reuse")
    sync_api.expect(page.locator("#model-info")).to_contain_text("wan2.2-i2v-flash —")
    sync_api.expect(page.locator("#prompt textarea")).to_have_value("The rocket lifts off slowly.")
    sync_api.expect(page.locator("#resolution input[value='480P']")).to_be_checked()
    sync_api.expect(page.locator("#image-info")).to_contain_text("750×1000 px")
    page.screenshot(path=str(SCREENSHOTS / "history-after-reload.png"), full_page=True)
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    # The example's template must not linger, hidden, under a model that takes none: the
    # request preview (built from the form's values) names the reused model and no template.
    page.click("#code button:has-text('code')")
    sync_api.expect(page.locator("#code")).to_contain_text('"model": "wan2.2-i2v-flash"')
    assert '"template"' not in (page.locator("#code").text_content() or "")


def test_chinese_follows_the_browser_language(browser: object, studio: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page = open_page(browser, studio, "zh-CN")
    # The texts follow the language once the page's load event has run: wait for each.
    for selector, text in (("#title", "图片生成视频"), ("#generate", "生成视频"),
                           ("#banner", "模拟器模式"), ("#model-info", "极速版"),
                           ("#status", "添加图片")):
        sync_api.expect(page.locator(selector)).to_contain_text(text, timeout=20_000)
    page.screenshot(path=str(SCREENSHOTS / "studio-zh.png"), full_page=True)


@pytest.fixture(scope="module")
def hosted_studio() -> Iterator[tuple[str, object]]:
    """The studio as a Space with a host key runs it: region picker, own-key field, private API."""
    sim = start_simulator(SimConfig(task_seconds=1.0, limits=False))
    previous = os.environ.get("DASHSCOPE_API_KEY")
    os.environ["DASHSCOPE_API_KEY"] = "sk-host-browser-test"
    settings = Settings(has_host_key=True, base_url=sim.base_url, api_visibility="private",
                        cache_dir=Path(tempfile.mkdtemp(prefix="wan-studio-hosted-")),
                        state_secret="hosted-test")
    with launched(settings) as url:
        yield url, sim
    sim.stop()
    if previous is None:
        os.environ.pop("DASHSCOPE_API_KEY", None)
    else:
        os.environ["DASHSCOPE_API_KEY"] = previous


def test_hosted_studio_uses_the_visitors_own_key(browser: object,
                                                 hosted_studio: tuple[str, object],
                                                 tmp_path: Path) -> None:
    from client.simulator.state import account_of

    url, sim = hosted_studio
    page = open_page(browser, url, "en-US")
    for elem_id in ("region", "api-key"):
        sync_api.expect(page.locator(f"#{elem_id}")).to_be_visible()
    assert "10 per hour" in page.inner_text("#banner")
    personal = "sk-visitor-own-key-1234"
    page.fill("#api-key input", personal)
    page.set_input_files("#image input[type=file]",
                         str(write_image(tmp_path / "p.jpg", 1000, 750)))
    choose_model(page, "wan2.2-i2v-flash")
    page.click("#resolution label:has-text('480P')")
    page.click("#generate")  # a private endpoint still serves its own page
    page.wait_for_function(VIDEO_READY_JS, timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "studio-hosted.png"), full_page=True)
    creates = [r for r in sim.requests if r.route == "create"]
    assert creates and {r.account for r in creates} == {account_of(personal)}
    assert personal not in page.content()


def _served_video(page: object, base_url: str, dest: Path) -> Path:
    """The MP4 the page's player plays, fetched as the browser fetched it."""
    import httpx

    src = page.eval_on_selector("#video video", "v => v.currentSrc")
    answer = httpx.get(src if src.startswith("http") else base_url.rstrip("/") + src, timeout=30)
    assert answer.status_code == 200 and answer.content[4:8] == b"ftyp"
    dest.write_bytes(answer.content)
    return dest


def test_wan27_first_and_last_frame(browser: object, studio: str, tmp_path: Path) -> None:
    import av

    from tests.integration.media_checks import diff, fitted, frames, poster
    from tests.media_factory import write_clip

    SCREENSHOTS.mkdir(exist_ok=True)
    first = write_image(tmp_path / "first.jpg", 750, 1000)
    last = tmp_path / "last.png"
    last.write_bytes(poster(600, 600))  # another look and shape: the video must end on it
    page = open_page(browser, studio, "en-US")
    choose_model(page, "wan2.7-i2v")
    for elem_id in ("last-frame", "first-clip", "first-clip-note", "shots", "image", "audio"):
        sync_api.expect(page.locator(f"#{elem_id}")).to_be_visible()
    sync_api.expect(page.locator("#shot-type")).to_be_hidden()  # shots go in the prompt here
    page.set_input_files("#image input[type=file]", str(first))
    page.set_input_files("#last-frame input[type=file]", str(last))
    sync_api.expect(page.locator("#last-frame-info")).to_contain_text("600×600 px, PNG")
    page.click("#resolution label:has-text('720P')")
    width, height = predict_output_size(750, 1000, "720P")
    sync_api.expect(page.locator("#output-size textarea, #output-size input")).to_have_value(
        f"{width}×{height} px, 5 s, 30 fps, with sound")
    page.fill("#prompt textarea", "The camera pulls back and the poster comes into view.")
    page.screenshot(path=str(SCREENSHOTS / "controls-wan2.7-last-frame.png"), full_page=True)
    page.click("#generate")
    page.wait_for_function(VIDEO_READY_JS, timeout=60_000)
    assert "Finished" in page.inner_text("#status")
    video = _served_video(page, studio, tmp_path / "served.mp4")
    decoded = frames(video)
    with av.open(str(video)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == \
            (width, height)
    ending = fitted(last.read_bytes(), (width, height))
    start = fitted(first.read_bytes(), (width, height))
    assert diff(decoded[-1], ending) < 12, diff(decoded[-1], ending)  # ends on the last frame
    assert diff(decoded[0], ending) > 3 * diff(decoded[-1], ending)  # …not starts on it
    assert diff(decoded[0], start) < diff(decoded[0], ending)
    # The simulator, like wan2.7, reports no rewritten prompt: nothing to offer.
    sync_api.expect(page.locator("#actual-prompt-box")).to_be_hidden()

    # A first-and-last-frame model that rewrites the prompt says how, and offers it.
    choose_model(page, "wan2.2-kf2v-flash")
    page.click("#resolution label:has-text('480P')")
    page.click("#generate")
    sync_api.expect(page.locator("#actual-prompt-box")).to_be_visible(timeout=60_000)
    rewritten = page.input_value("#actual-prompt textarea")
    assert rewritten.startswith("The camera pulls back") and len(rewritten) > 60
    page.click("#use-actual-prompt")
    sync_api.expect(page.locator("#prompt textarea")).to_have_value(rewritten)

    # A clip replaces the first frame and the voice track; its line says so.
    choose_model(page, "wan2.7-i2v")
    page.click("#resolution label:has-text('720P')")  # kf2v's 480P is not wan2.7's
    page.set_input_files("#first-clip input[type=file]",
                         str(write_clip(tmp_path / "clip.mp4", 3.0, 480, 320)))
    sync_api.expect(page.locator("#first-clip-info")).to_contain_text("3.0 s, 480×320 px, MP4")
    for hidden in ("image", "audio"):
        sync_api.expect(page.locator(f"#{hidden}")).to_be_hidden()
    sync_api.expect(page.locator("#last-frame")).to_be_visible()
    sync_api.expect(page.locator("#first-clip-note")).to_contain_text("replaces the first-frame")
    clip_w, clip_h = predict_output_size(480, 320, "720P")
    sync_api.expect(page.locator("#output-size textarea, #output-size input")).to_have_value(
        f"{clip_w}×{clip_h} px, 5 s in all: your 3.0 s clip, then 2.0 s of new video; 30 fps, "
        "with sound")
    page.screenshot(path=str(SCREENSHOTS / "controls-wan2.7-clip.png"), full_page=True)

    # The shot list writes the shots into the prompt, under the person's own first line.
    page.fill("#prompt textarea", "Realistic style.")
    page.click("#shots button")  # opens the list
    cells = page.locator("#shots-table .body-cell")
    for index, text in ((2, "The rocket climbs."), (5, "It vanishes into the clouds.")):
        cells.nth(index).dblclick()
        cells.nth(index).locator("textarea, input").first.wait_for()  # its editor is open
        page.keyboard.type(text)
        page.keyboard.press("Enter")
    page.click("#shots-write")
    sync_api.expect(page.locator("#prompt textarea")).to_have_value(
        "Realistic style.\nShot 1 [0-3 s]: The rocket climbs.\n"
        "Shot 2 [3-5 s]: It vanishes into the clouds.")
    sync_api.expect(page.locator("#shots-info")).to_contain_text("2 shot(s) written")

    # The continuation example fills in its clip and its length (8 s, on the slider too).
    page.click("#examples button:has-text('Rocket, continued')")
    sync_api.expect(page.locator("#first-clip-info")).to_contain_text("3.0 s, 624×416 px")
    sync_api.expect(page.locator("#image")).to_be_hidden()
    sync_api.expect(page.locator("#duration-slider input[type=number]")).to_have_value("8")
    sync_api.expect(page.locator("#output-size textarea, #output-size input")).to_have_value(
        re.compile(r"^\d+×\d+ px, 8 s in all: your 3\.0 s clip, then 5\.0 s of new video"))

    choose_model(page, "wan2.6-i2v")
    for hidden in ("last-frame", "first-clip", "shots"):
        sync_api.expect(page.locator(f"#{hidden}")).to_be_hidden()
    for shown in ("image", "audio", "shot-type"):
        sync_api.expect(page.locator(f"#{shown}")).to_be_visible()
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
