"""The bad-input corpus: every case a public studio meets, with the field that must be named.

Used by the client test (validate) and the studio test (handlers), so both see the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from client import catalog
from client.errors import InvalidInput
from client.fields import MEDIA
from client.request import VideoRequest, check_public_url, validate
from tests.media_factory import (
    png_claiming,
    write_clip,
    write_cut,
    write_encoded,
    write_image,
    write_plain_image,
    write_wav,
)

URL = "https://example.com/picture.jpg"


@dataclass(frozen=True)
class Case:
    name: str
    request: VideoRequest
    field: str | None  # the field the refusal must name; None: accepted
    browser_url: bool = False  # a URL typed into the studio: check_public_url applies too
    advice: str = ""  # words the rule must hold: the fix it suggests fits the case
    notice: str = ""  # accepted: words one of validate()'s notices must hold


def _image_cases(tmp: Path, good: Path) -> list[Case]:
    def img(name: str, **kw) -> VideoRequest:
        return VideoRequest(model="wan2.6-i2v-flash", image=str(tmp / name), **kw)

    jpeg = write_image(tmp / "full.jpg", 800, 600).read_bytes()
    (tmp / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (tmp / "zero.png").write_bytes(b"")
    (tmp / "text.png").write_text("this is not a picture\n")
    write_image(tmp / "alpha.png", 500, 500, "PNG", "RGBA")
    write_image(tmp / "la.png", 500, 500, "PNG", "LA")
    write_image(tmp / "palette_transparent.png", 500, 500, "PNG", "P", transparency=0)
    write_image(tmp / "palette.png", 500, 500, "PNG", "P")
    write_image(tmp / "cmyk.jpg", 500, 500, "JPEG", "CMYK")
    write_image(tmp / "sixteen.png", 500, 500, "PNG", "I;16")
    write_image(tmp / "still.gif", 500, 500, "GIF")
    write_image(tmp / "tiff.tif", 500, 500, "TIFF")
    _animated(tmp / "animated.gif", "GIF")
    _animated(tmp / "animated.webp", "WEBP")
    write_image(tmp / "w359.png", 359, 500, "PNG", "L")
    write_image(tmp / "h359.png", 500, 359, "PNG", "L")
    write_image(tmp / "w2001.png", 2001, 500, "PNG", "L")
    write_image(tmp / "h2001.png", 500, 2001, "PNG", "L")
    write_image(tmp / "sliver.png", 1, 50000, "PNG", "L")
    (tmp / "bomb.png").write_bytes(png_claiming(60000, 60000))
    (tmp / "big.jpg").write_bytes(jpeg + b"\0" * (10 * 1024 * 1024 + 1 - len(jpeg)))
    refused = ["truncated.jpg", "zero.png", "text.png", "alpha.png", "la.png",
               "palette_transparent.png", "cmyk.jpg", "sixteen.png", "still.gif", "tiff.tif",
               "animated.gif", "animated.webp", "w359.png", "h359.png", "w2001.png", "h2001.png",
               "sliver.png", "bomb.png", "big.jpg"]
    cases = [Case(f"image {name}", img(name), "image") for name in refused]
    cases.append(Case("image palette without transparency", img("palette.png"), None))
    cases.append(Case("image missing file", img("does-not-exist.png"), "image"))
    cases.append(Case("image none", VideoRequest(model="wan2.6-i2v-flash", image=None), "image"))
    return cases


def _animated(path: Path, fmt: str) -> None:
    from PIL import Image

    frames = [Image.new("RGB", (400, 400), c) for c in ("red", "green", "blue")]
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _audio_cases(tmp: Path, good: Path) -> list[Case]:
    def audio(path: Path) -> VideoRequest:
        return VideoRequest(model="wan2.6-i2v-flash", image=str(good), audio_url=str(path))

    big = tmp / "big.wav"
    with big.open("wb") as f:
        f.truncate(15 * 1024 * 1024 + 1)
    mp3 = write_encoded(tmp / "song.mp3", 4.0, "mp3", "mp3")
    renamed = tmp / "song_renamed.wav"
    renamed.write_bytes(mp3.read_bytes())
    corrupt = tmp / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    not_audio = tmp / "notes.mp3"
    not_audio.write_text("these are not sounds")
    zero = tmp / "zero.mp3"
    zero.write_bytes(b"")
    refused = [
        ("2.9 s", write_wav(tmp / "short.wav", 2.9)), ("30.1 s", write_wav(tmp / "long.wav", 30.1)),
        ("15 MB + 1", big), ("ogg", write_encoded(tmp / "a.ogg", 4.0, "libopus", "ogg")),
        ("flac", write_encoded(tmp / "a.flac", 4.0, "flac", "flac")),
        ("silent", write_wav(tmp / "silent.wav", 4.0, silent=True)), ("corrupt header", corrupt),
        ("mp3 renamed .wav", renamed), ("text renamed .mp3", not_audio), ("zero bytes", zero),
        ("missing file", tmp / "gone.wav"),
    ]
    advice = {"2.9 s": "longer", "30.1 s": "trim it", "mp3 renamed .wav": "rename it"}
    cases = [Case(f"audio {name}", audio(path), "audio_url", advice=advice.get(name, ""))
             for name, path in refused]
    cases.append(Case("audio mp3 4 s", audio(mp3), None))
    cases.append(Case("audio as data URI", VideoRequest(model="wan2.6-i2v", image=str(good),
                                                         audio_url="data:audio/wav;base64,AAAA"),
                      "audio_url"))
    return cases


def _prompt_cases(good: Path) -> list[Case]:
    cases = []
    for model in catalog.MODELS.values():
        region = model.regions[0]
        over = "字" * (model.prompt_max + 1)
        cases.append(Case(f"prompt over {model.prompt_max} on {model.id}",
                          VideoRequest(model=model.id, region=region, image=str(good), prompt=over),
                          "prompt"))
    base = {"model": "wan2.6-i2v-flash", "image": str(good)}
    cases += [
        Case("negative prompt over 500", VideoRequest(**base, negative_prompt="n" * 501),
             "negative_prompt"),
        Case("prompt with control characters", VideoRequest(**base, prompt="a\x00b\x1bc"), "prompt"),
        Case("prompt empty without template", VideoRequest(**base, prompt=""), None),
        Case("prompt right-to-left", VideoRequest(**base, prompt="חתול רץ בשדה مرحبا"), None),
        Case("prompt emoji", VideoRequest(**base, prompt="🐈‍⬛ runs 🌾✨"), None),
        Case("prompt empty with template",
             VideoRequest(model="wanx2.1-i2v-turbo", image=str(good), template="flying"), None),
        Case("seed negative", VideoRequest(**base, seed=-1), "seed"),
        Case("seed too large", VideoRequest(**base, seed=2**31), "seed"),
    ]
    return cases


def _combination_cases(good: Path) -> list[Case]:
    """Every disallowed model × parameter combination the catalog implies."""
    all_resolutions = tuple(catalog.TIER_PIXELS)
    cases = []
    for region in catalog.REGIONS:
        for model in catalog.models_in_region(region):
            # A first-and-last-frame model needs its last frame too: each case breaks one rule.
            last = None if frozenset({catalog.FIRST_FRAME}) in model.media else str(good)
            make = partial(VideoRequest, model=model.id, region=region, image=str(good),
                           last_frame=last)
            tag = f"{model.id}@{region}"
            for res in all_resolutions:
                if res not in model.resolutions:
                    cases.append(Case(f"{tag} resolution {res}", make(resolution=res), "resolution"))
            probes = {model.durations[0] - 1, model.durations[-1] + 1}
            probes |= {d for d in range(model.durations[0], model.durations[-1]) if d not in model.durations}
            for d in sorted(probes)[:3]:
                cases.append(Case(f"{tag} duration {d}", make(duration=d), "duration"))
            if not model.accepts_shot_type:
                cases.append(Case(f"{tag} shot_type", make(shot_type="multi"), "shot_type"))
            if model.audio is not catalog.Audio.SWITCHABLE:
                cases.append(Case(f"{tag} audio switch", make(audio=False), "audio"))
            if not model.accepts_audio_url:
                cases.append(Case(f"{tag} audio_url", make(audio_url="https://example.com/a.mp3"),
                                  "audio_url"))
            if not model.templates:
                cases.append(Case(f"{tag} template", make(template="flying"), "template"))
            else:
                missing = next((t for t in catalog.TEMPLATES if t not in model.templates), "no-such")
                cases.append(Case(f"{tag} template {missing}", make(template=missing), "template"))
        for model_id in catalog.MODELS:
            if catalog.model_in_region(model_id, region) is None:
                cases.append(Case(f"{model_id} not in {region}",
                                  VideoRequest(model=model_id, region=region, image=URL), "model"))
    return cases


def _url_cases() -> list[Case]:
    urls = {
        "file:// from the browser": "file:///etc/passwd",
        "javascript:": "javascript:alert(document.cookie)",
        "localhost": "http://localhost:7860/file=/etc/passwd",
        "loopback": "http://127.0.0.1/a.png",
        "private 10/8": "http://10.1.2.3/a.png",
        "private 192.168/16": "http://192.168.0.10/a.png",
        "link-local metadata": "http://169.254.169.254/latest/meta-data/",
        "IPv6 loopback": "http://[::1]/a.png",
        "10 KB long": "https://example.com/" + "a" * 10_240,
        "ftp": "ftp://example.com/a.png",
    }
    return [Case(f"url {name}", VideoRequest(model="wan2.6-i2v-flash", image=url), "image",
                 browser_url=True) for name, url in urls.items()]


W27, KF2V, KF2V_PLUS = "wan2.7-i2v", "wan2.2-kf2v-flash", "wanx2.1-kf2v-plus"


def _clip_cases(tmp: Path, good: Path) -> list[Case]:
    """A clip to continue (wan2.7 first_clip): its container, length and the duration it
    counts towards."""
    def clip(path: Path | str, **kw) -> VideoRequest:
        return VideoRequest(model=W27, first_clip=str(path), **kw)

    three = write_clip(tmp / "three.mp4", 3.0)
    (tmp / "empty.mp4").write_bytes(b"")
    (tmp / "text.mp4").write_text("this is not a video\n")
    (tmp / "picture.mp4").write_bytes(good.read_bytes())
    write_wav(tmp / "sound.mp4", 4.0)
    refused = [
        ("truncated MP4", write_cut(tmp / "truncated.mp4", three), "export it again"),
        ("empty MP4", tmp / "empty.mp4", "choose the video again"),
        ("of 12 s", write_clip(tmp / "twelve.mp4", 12.0, fps=10), "trim it"),
        ("of 1 s", write_clip(tmp / "one.mp4", 1.0), "longer"),
        ("that is text", tmp / "text.mp4", "MP4"), ("that is a JPEG", tmp / "picture.mp4", "MP4"),
        ("that is a WAV", tmp / "sound.mp4", "MP4"), ("missing file", tmp / "gone.mp4", "gone.mp4"),
        ("as a data URI", "data:video/mp4;base64,AAAA", "upload the file"),
    ]
    cases = [Case(f"clip {name}", clip(path, duration=15), "first_clip", advice=advice)
             for name, path, advice in refused]
    mov = write_clip(tmp / "three.mov", 3.0, container="mov")
    return cases + [
        Case("clip MOV the service takes", clip(mov, duration=8), None,
             notice="5.0 s of new video"),
        Case("clip 3 s with duration 15", clip(three, duration=15), None,
             notice="The 3.0 s clip and 12.0 s of new video make 15 s"),
        Case("clip as long as the duration", clip(three, duration=3), "duration",
             advice="at least 4 s"),
        Case("clip with a last frame", clip(three, last_frame=str(good)), None),
        Case("clip with audio", clip(three, audio_url=str(write_wav(tmp / "voice.wav", 4.0))),
             "first_clip", advice="remove one"),
        Case("clip with a first frame", clip(three, image=str(good)), "first_clip",
             advice="remove one"),
    ]


def _frame_cases(tmp: Path, good: Path) -> list[Case]:
    """First and last frames by their model's rules: wan2.7 240–8000 px and 1:8–8:1, kf2v (the
    client's strict rule) 360–2000 px."""
    def pic(name: str, w: int, h: int) -> str:
        return str(write_plain_image(tmp / name, w, h))

    wide, tall = pic("wide9000.jpg", 9000, 1200), pic("tall1to9.jpg", 240, 2160)
    small, kf2100 = pic("small300.jpg", 300, 300), pic("kf2100.jpg", 2100, 1000)
    last, first = partial(VideoRequest, model=W27, image=str(good)), partial(
        VideoRequest, model=W27)
    kf2v = partial(VideoRequest, model=KF2V)
    return [
        Case("wan2.7 first frame 9000 px", first(image=wide), "image", advice="resize"),
        Case("wan2.7 first frame 1:9", first(image=tall), "image", advice="crop"),
        Case("wan2.7 last frame 1:9", last(last_frame=tall), "last_frame", advice="crop"),
        Case("wan2.7 last frame 200 px", last(last_frame=pic("tiny.jpg", 200, 300)),
             "last_frame", advice="240–8000"),
        Case("wan2.7 first frame 1:8", first(image=pic("tall1to8.jpg", 240, 1920)), None),
        Case("wan2.7 first frame 300 px (under the legacy 360)", first(image=small), None),
        Case("wan2.7 first and last frames and audio", last(
            last_frame=small, audio_url=str(write_wav(tmp / "short.wav", 2.5))), None),
        Case("wan2.7 audio 1.5 s", last(audio_url=str(write_wav(tmp / "brief.wav", 1.5))),
             "audio_url", advice="longer"),
        Case("wan2.7 last frame alone", first(last_frame=str(good)), "image",
             advice="a clip to continue"),
        Case("kf2v first frame 2100 px", kf2v(image=kf2100, last_frame=str(good)), "image",
             advice="360–2000"),
        Case("kf2v last frame 2100 px", kf2v(image=str(good), last_frame=kf2100), "last_frame",
             advice="360–2000"),
        Case("kf2v first frame 300 px", kf2v(image=small, last_frame=str(good)), "image",
             advice="360–2000"),
        Case("kf2v without a last frame", kf2v(image=str(good)), "last_frame",
             advice="add the last frame"),
        Case("kf2v plus without a last frame or template",
             VideoRequest(model=KF2V_PLUS, image=str(good)), "last_frame", advice="template"),
        Case("kf2v plus template with a last frame", VideoRequest(
            model=KF2V_PLUS, image=str(good), last_frame=str(good), template="hanfu-1"), None,
             notice="last frame is not used"),
        Case("kf2v plus template without a first frame", VideoRequest(
            model=KF2V_PLUS, last_frame=str(good), template="hanfu-1"), "image"),
    ]


def _media_role_cases(good: Path) -> list[Case]:
    """A last frame or a clip on every model × region that takes none: the refusal names the
    models that do, or the regions where one does."""
    cases = []
    for region in catalog.REGIONS:
        offered = catalog.models_in_region(region)
        for model in offered:
            for role, name in ((catalog.LAST_FRAME, "last_frame"),
                               (catalog.FIRST_CLIP, "first_clip")):
                if role not in model.roles:
                    # A first-and-last-frame model gets its last frame: the clip is the one fault.
                    needed = None if catalog.FRAME_ONLY[0] in model.media else str(good)
                    request = VideoRequest(model=model.id, region=region, image=str(good),
                                           **{"last_frame": needed, name: URL})
                    here = any(role in m.roles for m in offered)
                    cases.append(Case(f"{model.id}@{region} {name}", request, name,
                                      advice="choose" if here else "switch the region"))
    links = {"last_frame": "http://127.0.0.1/last.png",
             "first_clip": "http://169.254.169.254/latest/clip.mp4"}
    cases += [Case(f"url {name} to a private address",
                   VideoRequest(model=W27, image=None if name == "first_clip" else URL,
                                **{name: link}), name, browser_url=True)
              for name, link in links.items()]
    return cases


def check_typed_links(case: Case) -> None:
    """What the studio checks first of links typed into it (every medium of such a case)."""
    if case.browser_url:
        for f in MEDIA:
            if (value := getattr(case.request, f.name)) is not None:
                check_public_url(str(value), f.name)


def client_refusal(case: Case) -> InvalidInput | None:
    """What the client says of a case: its refusal, or None when it accepts it."""
    try:
        check_typed_links(case)
        validate(case.request)
    except InvalidInput as refusal:
        return refusal
    return None


def build_corpus(tmp: Path) -> list[Case]:
    tmp.mkdir(parents=True, exist_ok=True)
    good = write_image(tmp / "good.jpg", 800, 600)
    return (_image_cases(tmp, good) + _audio_cases(tmp, good) + _prompt_cases(good)
            + _combination_cases(good) + _url_cases() + _clip_cases(tmp, good)
            + _frame_cases(tmp, good) + _media_role_cases(good))
