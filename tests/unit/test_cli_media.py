"""python -m client with wan2.7's and kf2v's media: the `inputs` column of `models`, the bodies
`generate` sends for first+last frames, a continued clip and kf2v, and its refusals (exit 2,
nothing sent, the flag named, and what the model takes)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from client import catalog
from client.catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME
from client.cli_models import ROLE_WORDS, media_combinations, models_table
from client.protocols import CREATE_PATHS, IMAGE2VIDEO_PATH, VIDEO_GENERATION_PATH
from tests.media_factory import write_clip, write_image, write_plain_image, write_wav
from tests.unit.test_cli import URL, Service, env, run_cli  # noqa: F401 - env: autouse fixture

LAST_URL = "https://example.com/last.png"
AUDIO_URL = "https://example.com/voice.mp3"
WORD_ROLES = {word: role for role, word in ROLE_WORDS.items()}


def combos_read_back(cell: str) -> set[frozenset[str]]:
    """The media sets an `inputs` cell says: "a [+ b] [+ c] | d + e" expanded."""
    found: set[frozenset[str]] = set()
    for part in cell.split(" | "):
        if part.endswith(" + template"):
            found.add(frozenset({WORD_ROLES[part.removesuffix(" + template")]}))
            continue
        base, *optional = re.split(r" \[\+ ", part)
        roles = frozenset(WORD_ROLES[w] for w in base.split(" + "))
        extras = [WORD_ROLES[o.rstrip("]")] for o in optional]
        for mask in range(2 ** len(extras)):
            found.add(roles | {r for i, r in enumerate(extras) if mask >> i & 1})
    return found


def table_rows() -> dict[str, list[str]]:
    lines = models_table().splitlines()
    return {cells[0]: cells for line in lines[2:] if (cells := re.split(r" {2,}", line))[0]
            in catalog.MODELS}


def test_the_inputs_column_says_exactly_the_catalog_s_combinations() -> None:
    header = re.split(r" {2,}", models_table().splitlines()[0])
    column = header.index("inputs")
    for model_id, cells in table_rows().items():
        model = catalog.MODELS[model_id]
        expected = set(model.media) | ({frozenset({FIRST_FRAME})} if model.templates else set())
        assert combos_read_back(cells[column]) == expected, (model_id, cells[column])
    wan27 = table_rows()["wan2.7-i2v"][column]
    assert wan27 == "first frame [+ last frame] [+ audio] | clip [+ last frame]"
    assert table_rows()["wanx2.1-kf2v-plus"][column] == \
        "first frame + last frame | first frame + template"


def test_sets_whose_extras_do_not_mix_freely_are_written_out() -> None:
    model = replace(catalog.MODELS["wan2.6-i2v"], media=(
        frozenset({FIRST_FRAME}), frozenset({FIRST_FRAME, LAST_FRAME}),
        frozenset({FIRST_FRAME, DRIVING_AUDIO})))  # no last frame with audio
    assert media_combinations(model) == \
        "first frame | first frame + last frame | first frame + audio"
    flags = media_combinations(catalog.MODELS["wan2.7-i2v"], lambda r: f"<{r}>", plus=" ")
    assert flags == "<first_frame> [<last_frame>] [<driving_audio>] | <first_clip> [<last_frame>]"


def test_the_table_names_each_model_s_body_and_endpoint() -> None:
    header = re.split(r" {2,}", models_table().splitlines()[0])
    for model_id, cells in table_rows().items():
        assert cells[header.index("body")] == catalog.MODELS[model_id].protocol.value
    text = models_table()
    assert all(f"POST {path}" in text for path in CREATE_PATHS)
    later = catalog.PRICES_CHECKED_2026_10
    assert f"(† {later})" in text and table_rows()["wan2.7-i2v"][-1].endswith("†")
    assert not table_rows()["wan2.6-i2v"][-1].endswith("†")


def test_first_and_last_frames_with_audio_from_local_files(tmp_path: Path) -> None:
    first = write_image(tmp_path / "first.jpg", 800, 600)
    last = write_plain_image(tmp_path / "last.png", 300, 9 * 300 // 4, "PNG")  # wan2.7 sides
    voice = write_wav(tmp_path / "voice.wav", 2.5)  # under the legacy 3 s: wan2.7 takes it
    service = Service()
    assert run_cli(["generate", "--model", "wan2.7-i2v", "--image", str(first), "--last-frame",
                    str(last), "--audio", str(voice), "--prompt", "dusk", "--duration", "10",
                    "--resolution", "720P"], service) == 0
    (create,) = service.of_create()
    assert create.url.path == f"/api/v1{VIDEO_GENERATION_PATH}"
    assert create.headers["x-dashscope-ossresourceresolve"] == "enable"
    assert service.body() == {
        "model": "wan2.7-i2v",
        "input": {"prompt": "dusk", "media": [
            {"type": "first_frame", "url": "oss://d/first.jpg"},
            {"type": "driving_audio", "url": "oss://d/voice.wav"},
            {"type": "last_frame", "url": "oss://d/last.png"}]},
        "parameters": {"resolution": "720P", "prompt_extend": True, "duration": 10,
                       "watermark": False}}
    policies = [r for r in service.requests if r.url.path.endswith("/uploads")]
    assert [r.url.params["model"] for r in policies] == ["wan2.7-i2v"] * 3


def test_a_continuation_says_how_much_is_new(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 3.0)
    service = Service()
    assert run_cli(["generate", "--model", "wan2.7-i2v", "--first-clip", str(clip),
                    "--last-frame", LAST_URL, "--duration", "15"], service) == 0
    assert service.body()["input"] == {"media": [{"type": "last_frame", "url": LAST_URL},
                                                 {"type": "first_clip", "url": "oss://d/clip.mp4"}]}
    assert service.body()["parameters"]["duration"] == 15
    assert "note: The 3.0 s clip and 12.0 s of new video make 15 s." in capsys.readouterr().err
    (upload,) = [r for r in service.requests if r.url.host == "oss.test"]
    assert b"video/mp4" in upload.read()


def test_kf2v_sends_first_and_last_frame_urls_to_image2video(tmp_path: Path) -> None:
    first = write_image(tmp_path / "first.jpg", 800, 600)
    last = write_image(tmp_path / "last.jpg", 600, 800)  # another shape is fine
    service = Service()
    assert run_cli(["generate", "--model", "wan2.2-kf2v-flash", "--image", str(first),
                    "--last-frame", str(last), "--prompt", "the cat looks up"], service) == 0
    (create,) = service.of_create()
    assert create.url.path == f"/api/v1{IMAGE2VIDEO_PATH}"
    assert service.body() == {
        "model": "wan2.2-kf2v-flash",
        "input": {"prompt": "the cat looks up", "first_frame_url": "oss://d/first.jpg",
                  "last_frame_url": "oss://d/last.jpg"},
        "parameters": {"resolution": "720P", "prompt_extend": True, "watermark": False}}


def test_a_kf2v_template_needs_one_picture_and_drops_the_last(
        capsys: pytest.CaptureFixture) -> None:
    service = Service()
    assert run_cli(["generate", "--model", "wanx2.1-kf2v-plus", "--image", URL, "--template",
                    "hanfu-1", "--last-frame", LAST_URL], service) == 0
    assert service.body()["input"] == {"first_frame_url": URL, "template": "hanfu-1"}
    assert "note: With an effect template the last frame is not used." in \
        capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli-media")
    return {"clip": write_clip(tmp / "clip.mp4", 3.0),
            "wide": write_plain_image(tmp / "wide.jpg", 9000, 1200),
            "kf2100": write_plain_image(tmp / "kf2100.jpg", 2100, 1000)}


WAN27_TAKES = ("wan2.7-i2v takes: --image [--last-frame] [--audio] | --first-clip "
               "[--last-frame]")


@pytest.mark.parametrize("argv, flag, words, hint", [
    (["--model", "wan2.7-i2v", "--image", URL, "--first-clip", "{clip}"], "--first-clip",
     "together with a first-frame picture; remove one", "given: --image --first-clip; "
     + WAN27_TAKES),
    (["--model", "wan2.7-i2v", "--first-clip", "{clip}", "--audio", AUDIO_URL], "--first-clip",
     "together with an audio track", "given: --audio --first-clip; " + WAN27_TAKES),
    (["--model", "wan2.7-i2v"], "--image", "(or a clip to continue)",
     "given: no media; " + WAN27_TAKES),
    (["--model", "wan2.7-i2v", "--last-frame", LAST_URL], "--image", "first-frame picture",
     "given: --last-frame; " + WAN27_TAKES),
    (["--model", "wan2.2-kf2v-flash", "--image", URL], "--last-frame", "add the last frame",
     "given: --image; wan2.2-kf2v-flash takes: --image --last-frame"),
    (["--model", "wanx2.1-kf2v-plus", "--image", URL], "--last-frame", "effect template",
     "given: --image; wanx2.1-kf2v-plus takes: --image --last-frame | --image --template"),
    (["--model", "wanx2.1-kf2v-plus", "--last-frame", LAST_URL, "--template", "hanfu-1"],
     "--image", "first-frame picture", "wanx2.1-kf2v-plus takes: --image --last-frame"),
    (["--model", "wan2.6-i2v", "--image", URL, "--last-frame", LAST_URL], "--last-frame",
     "takes no last frame; choose wan2.7-i2v", "wan2.6-i2v takes: --image [--audio]"),
    (["--model", "wan2.6-i2v", "--first-clip", "{clip}"], "--first-clip",
     "takes no clip to continue", "given: --first-clip; wan2.6-i2v takes: --image [--audio]"),
    (["--model", "wan2.7-i2v", "--first-clip", "{clip}", "--duration", "3"], "--duration",
     "choose at least 4 s", None),
    (["--model", "wan2.7-i2v", "--image", "{wide}"], "--image", "each side must be 240–8000 px",
     None),
    (["--model", "wan2.2-kf2v-flash", "--image", "{kf2100}", "--last-frame", LAST_URL],
     "--image", "each side must be 360–2000 px", None),
    (["--model", "wan2.7-i2v", "--image", URL, "--shot-type", "multi"], "--shot-type",
     "write the shots in the prompt", None),
])
def test_refusals_name_the_flag_and_send_nothing(files: dict[str, Path],
                                                 capsys: pytest.CaptureFixture,
                                                 argv, flag, words, hint) -> None:
    service = Service()
    assert run_cli(["generate", *(a.format(**files) for a in argv)], service) == 2
    assert service.requests == []
    first, *more = capsys.readouterr().err.strip().splitlines()
    assert first.startswith(f"error: {flag}: ") and words in first, first
    if hint is None:  # the media go together: the refusal is about one of them
        assert more == []
    else:
        assert len(more) == 1 and hint in more[0], more


def test_generate_help_offers_each_medium_as_a_path_or_url(
        capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run_cli(["generate", "--help"], Service())
    text = capsys.readouterr().out
    for flag in ("--image", "--last-frame", "--first-clip", "--audio"):
        assert f"{flag} PATH_OR_URL" in text
    assert "python -m client models" in text


def test_a_story_error_keeps_its_own_field_names(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    story = tmp_path / "story.json"
    story.write_text(json.dumps({"shots": []}))
    assert run_cli(["story", str(story), "--dry-run"], Service()) == 2
    assert not capsys.readouterr().err.startswith("error: --")


def test_flags_of_every_medium_are_named_in_the_table_legend() -> None:
    legend = next(line for line in models_table().splitlines() if line.startswith("inputs:"))
    for role in (FIRST_FRAME, LAST_FRAME, FIRST_CLIP, DRIVING_AUDIO):
        assert f"({ROLE_WORDS[role]})" in legend
    assert "--first-clip (clip)" in legend and "--image (first frame)" in legend
