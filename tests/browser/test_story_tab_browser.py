"""The Story tab in Debian's Chromium: build a 2-shot story, make the film, reload mid-way, and
end with a playable film of the right length."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest

from tests.browser.test_studio import SCREENSHOTS, browser, open_page, studio, sync_api
from tests.media_factory import write_image

pytestmark = pytest.mark.browser
__all__ = ["browser", "studio"]  # the fixtures, shared with test_studio

SHOT = 2  # seconds
READY_JS = """(id) => { const v = document.querySelector(`#${id} video`);
                        return v !== null && v.readyState >= 2; }"""


def open_story(browser: object, url: str) -> object:
    page = open_page(browser, url, "en-US")
    page.click("#tab-story-button")
    page.wait_for_selector("#story-make", timeout=30_000)
    return page


def choose(page: object, dropdown: str, value: str) -> None:
    page.click(f"#{dropdown} input")
    page.click(f'#{dropdown} [role=option][aria-label="{value}"]')


def test_a_two_shot_story_survives_a_reload_and_ends_with_a_playable_film(
        browser: object, studio: str, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page = open_story(browser, studio)
    page.set_input_files("#story-image-1 input[type=file]",
                         str(write_image(tmp_path / "first.jpg", 750, 1000)))
    page.fill("#story-prompt-1 textarea", "She looks up")
    page.fill("#story-prompt-2 textarea", "She waves")
    # A third shot, moved up between the two, then removed: the rows follow.
    page.click("#story-add")
    sync_api.expect(page.locator("#story-shot-3")).to_be_visible()
    page.fill("#story-prompt-3 textarea", "The rocket lifts off")
    page.click("#story-up-3")
    sync_api.expect(page.locator("#story-prompt-2 textarea")).to_have_value(
        "The rocket lifts off", timeout=20_000)
    sync_api.expect(page.locator("#story-prompt-3 textarea")).to_have_value("She waves")
    page.click("#story-remove-2")
    sync_api.expect(page.locator("#story-shot-3")).to_be_hidden(timeout=20_000)
    sync_api.expect(page.locator("#story-prompt-2 textarea")).to_have_value("She waves")
    page.click("#story-resolution label:has-text('720P')")
    for n in (1, 2):
        choose(page, f"story-duration-{n}", str(SHOT))
    summary = sync_api.expect(page.locator("#story-summary"))
    summary.to_contain_text(f"Film: {2 * SHOT} s from 2 shot(s)", timeout=20_000)
    page.click("#story-plan-box button")
    sync_api.expect(page.locator("#story-plan")).to_contain_text("shot 2 waits for shot 1")
    page.screenshot(path=str(SCREENSHOTS / "story-built.png"), full_page=True)

    page.click("#story-make")
    # Mid-way: shot 1 is made, shot 2 (which continues it) is not, so there is no film yet.
    sync_api.expect(page.locator("#story-status-1")).to_contain_text("Finished",
                                                                    timeout=60_000)
    assert "Finished" not in page.inner_text("#story-status-2")
    assert page.locator("#story-film video").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "story-mid-way.png"), full_page=True)

    page.reload()
    page.wait_for_selector("#generate", timeout=30_000)
    page.click("#tab-story-button")
    page.wait_for_function(READY_JS, arg="story-film", timeout=60_000)
    sync_api.expect(page.locator("#story-status")).to_contain_text(
        f"The film is ready: {2 * SHOT} s from 2 shots")
    for n in (1, 2):
        page.wait_for_function(READY_JS, arg=f"story-video-{n}", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "story-film.png"), full_page=True)

    source = page.eval_on_selector("#story-film video", "v => v.currentSrc")
    film = tmp_path / "film.mp4"
    film.write_bytes(httpx.get(source, timeout=30).raise_for_status().content)
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for packet in container.demux(stream) if packet.size)
        assert stream.codec_context.name == "h264"
        assert abs(frames - 2 * SHOT * 30) <= 1

    # The reloaded page's shots are empty; "Use this story again" brings the storyboard back.
    assert page.input_value("#story-prompt-2 textarea") == ""
    page.click("#story-again")
    sync_api.expect(page.locator("#story-prompt-2 textarea")).to_have_value("She waves",
                                                                            timeout=20_000)
    sync_api.expect(page.locator("#story-summary")).to_contain_text(
        f"Film: {2 * SHOT} s from 2 shot(s)", timeout=20_000)
    sync_api.expect(page.locator("#story-image-1 img")).to_be_visible()
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
