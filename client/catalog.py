"""The one table of Wan image-to-video models, regions and templates.

Validation, payloads, the studio's controls and the simulator's acceptance rules all read this
module; a capability is written down here and nowhere else. Facts come from
../shared/spec/dashscope-i2v-api.md (vendor guide of 2026-02) and, for wan2.7 and the
first-and-last-frame (kf2v) models, ../shared/spec/dashscope-media-and-kf2v.md (pages of 2026).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache

PRICES_CHECKED = "2026-02-12"  # date of the price pages the estimates below were read from
PRICES_CHECKED_2026_10 = "2026-10-12"  # wan2.7 and kf2v prices (the 2026 pricing page)
SEED_MAX = 2_147_483_647
NEGATIVE_PROMPT_MAX = 500
STATUS_QUERIES_PER_SECOND = 20  # per account, every model
TASK_LIFETIME_HOURS = 24
FPS = 30


@dataclass(frozen=True)
class Region:
    id: str
    name_en: str
    name_zh: str
    base_url: str
    currency: str
    dashscope_region: str  # the name the service writes in task lists
    templates: bool  # effect templates exist only in Beijing


REGIONS: dict[str, Region] = {
    r.id: r
    for r in (
        Region("beijing", "China (Beijing)", "中国（北京）",
               "https://dashscope.aliyuncs.com/api/v1", "CNY", "cn-beijing", templates=True),
        Region("singapore", "Singapore", "新加坡",
               "https://dashscope-intl.aliyuncs.com/api/v1", "USD", "ap-southeast-1", templates=False),
        Region("virginia", "US (Virginia)", "美国（弗吉尼亚）",
               "https://dashscope-us.aliyuncs.com/api/v1", "USD", "us-east-1", templates=False),
    )
}
DEFAULT_REGION = "beijing"


class Protocol(str, Enum):
    """Which create body a model speaks (client.protocols turns a request into it)."""

    LEGACY = "legacy"  # input.img_url / input.audio_url (wan2.1–wan2.6)
    MEDIA = "media"  # input.media[] of {type, url} (wan2.7)
    KF2V = "kf2v"  # input.first_frame_url / last_frame_url on the image2video endpoint


class Usage(str, Enum):
    """The shape of a finished task's `usage` object."""

    SPLIT = "split"  # duration, input_video_duration, output_video_duration, SR, video_count
    TIER = "tier"  # duration, SR, video_count
    RATIO = "ratio"  # video_duration, video_count, video_ratio
    VIDEO_TIER = "video_tier"  # video_duration, video_count, SR


# Media roles (the wan2.7 media types); every model takes a first frame or a clip to continue.
FIRST_FRAME, LAST_FRAME, FIRST_CLIP, DRIVING_AUDIO = (
    "first_frame", "last_frame", "first_clip", "driving_audio")
FRAME_ONLY: tuple[frozenset[str], ...] = (frozenset({FIRST_FRAME}),)
FRAME_OR_AUDIO = (*FRAME_ONLY, frozenset({FIRST_FRAME, DRIVING_AUDIO}))
FIRST_AND_LAST = (frozenset({FIRST_FRAME, LAST_FRAME}),)
WAN27_MEDIA = (*FRAME_OR_AUDIO, *FIRST_AND_LAST, frozenset({FIRST_FRAME, LAST_FRAME, DRIVING_AUDIO}),
               frozenset({FIRST_CLIP}), frozenset({FIRST_CLIP, LAST_FRAME}))


class Audio(str, Enum):
    ALWAYS = "always"  # sound is always generated (from audio_url, or dubbed automatically)
    SWITCHABLE = "switchable"  # `parameters.audio` turns it off; on by default
    SILENT = "silent"  # the model makes silent video only


@dataclass(frozen=True)
class Template:
    id: str
    name_zh: str
    name_en: str
    advice_en: str
    advice_zh: str
    on_turbo: bool  # every template runs on wan2.1 plus; only some on turbo
    first_and_last: bool = False  # a first-and-last-frame (kf2v) template: from one picture


_ANY_EN, _ANY_ZH = "Any subject, clearly separated from the background.", "任意主体，与背景区分清晰。"
_ONE_EN, _ONE_ZH = "A single person.", "单人。"
_FULL_EN, _FULL_ZH = "A single person, full body.", "单人，全身。"
_HANDS_EN = "A person or an animal; avoid visible hands."
_HANDS_ZH = "人物或动物，避免手部入镜。"
_TWO_EN, _TWO_ZH = "Two people, facing the camera or each other.", "两人，面向镜头或彼此。"

TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template("squish", "解压捏捏", "Squeeze", _ANY_EN, _ANY_ZH, True),
        Template("rotation", "转圈圈", "Spin", "Any subject.", "任意主体。", True),
        Template("poke", "戳戳乐", "Poke", "Any subject.", "任意主体。", True),
        Template("inflate", "气球膨胀", "Balloon inflation", "Any subject.", "任意主体。", True),
        Template("dissolve", "分子扩散", "Molecular diffusion", "Any subject.", "任意主体。", True),
        Template("melt", "热浪融化", "Heat-wave melt", "Any subject.", "任意主体。", False),
        Template("icecream", "冰淇淋星球", "Ice-cream planet", "Any subject.", "任意主体。", False),
        Template("carousel", "时光木马", "Time carousel",
                 "A single person, half or full body, facing the camera.", "单人，半身或全身，正面。", True),
        Template("singleheart", "爱你哟", "Love you", _ONE_EN, _ONE_ZH, True),
        Template("dance1", "摇摆时刻", "Swing time", _ONE_EN, _ONE_ZH, False),
        Template("dance2", "头号甩舞", "Top hair-flip dance", _FULL_EN, _FULL_ZH, False),
        Template("dance3", "星摇时刻", "Star sway", _FULL_EN, _FULL_ZH, False),
        Template("dance4", "指感节奏", "Finger rhythm", _ONE_EN, _ONE_ZH, False),
        Template("dance5", "舞动开关", "Dance switch", _ONE_EN, _ONE_ZH, False),
        Template("mermaid", "人鱼觉醒", "Mermaid awakening", "A single person, half body.", "单人，半身。", False),
        Template("graduation", "学术加冕", "Academic crowning", _ONE_EN, _ONE_ZH, False),
        Template("dragon", "巨兽追袭", "Beast chase", _ONE_EN, _ONE_ZH, False),
        Template("money", "财从天降", "Money rain", _ONE_EN, _ONE_ZH, False),
        Template("jellyfish", "水母之约", "Jellyfish date", _ONE_EN, _ONE_ZH, False),
        Template("pupil", "瞳孔穿越", "Through the pupil", _ONE_EN, _ONE_ZH, False),
        Template("flying", "魔法悬浮", "Magic levitation",
                 "A single person or animal, full body.", "单人或单只动物，全身。", True),
        Template("rose", "赠人玫瑰", "Giving a rose", _HANDS_EN, _HANDS_ZH, True),
        Template("crystalrose", "闪亮玫瑰", "Crystal rose", _HANDS_EN, _HANDS_ZH, True),
        Template("hug", "爱的抱抱", "Loving hug", _TWO_EN, _TWO_ZH, True),
        Template("frenchkiss", "唇齿相依", "French kiss", "Two people.", "两人。", True),
        Template("coupleheart", "双倍心动", "Double heartbeat", "Two people.", "两人。", True),
    )
}
_HALF_EN = "A single person, half to full body, facing the camera."
_HALF_ZH = "单人照片，建议半身至全身正面照。"
# English names are our translations: no official ones were found (spec §3.3).
TEMPLATES.update({
    t.id: t
    for t in (
        Template("hanfu-1", "唐韵翩然", "Tang-style grace", _HALF_EN, _HALF_ZH, False, True),
        Template("solaron", "机甲变身", "Mecha transformation", _HALF_EN, _HALF_ZH, False, True),
        Template("magazine", "闪耀封面", "Magazine cover", _HALF_EN, _HALF_ZH, False, True),
        Template("mech1", "机械觉醒", "Mechanical awakening", _HALF_EN, _HALF_ZH, False, True),
        Template("mech2", "赛博登场", "Cyber entrance", _HALF_EN, _HALF_ZH, False, True),
    )
})
ALL_TEMPLATES = tuple(t.id for t in TEMPLATES.values() if not t.first_and_last)
TURBO_TEMPLATES = tuple(t.id for t in TEMPLATES.values() if t.on_turbo)
KF2V_TEMPLATES = tuple(t.id for t in TEMPLATES.values() if t.first_and_last)

# Pixel budget per tier; output keeps the input's aspect ratio at about this many pixels.
TIER_PIXELS: dict[str, int] = {"480P": 832 * 480, "720P": 1280 * 720, "1080P": 1920 * 1080}


@dataclass(frozen=True)
class Price:
    """Estimated price per generated second, by resolution. An estimate, not a quote."""

    currency: str
    per_second: dict[str, float]
    silent_per_second: dict[str, float] = field(default_factory=dict)  # when audio is switched off
    checked: str = PRICES_CHECKED

    def for_second(self, resolution: str, with_audio: bool = True) -> float | None:
        if not with_audio and resolution in self.silent_per_second:
            return self.silent_per_second[resolution]
        return self.per_second.get(resolution)


def is_range(values: tuple[int, ...]) -> bool:
    """A contiguous run of whole numbers long enough to deserve a slider."""
    return len(values) > 3 and values == tuple(range(values[0], values[-1] + 1))


@dataclass(frozen=True)
class Model:
    """One model's terms. A row names what it has; a capability it lacks is left at its default
    (silent, no audio track, no shot type, no templates)."""

    id: str
    family: str  # "wan2.6", "wan2.5", "wan2.2", "wan2.1": decides limits and response shapes
    regions: tuple[str, ...]
    resolutions: tuple[str, ...]
    default_resolution: str
    durations: tuple[int, ...]  # every allowed value, ascending
    default_duration: int
    summary_en: str
    summary_zh: str
    audio: Audio = Audio.SILENT
    protocol: Protocol = Protocol.LEGACY
    media: tuple[frozenset[str], ...] = FRAME_ONLY  # the media roles it takes together
    usage: Usage = Usage.TIER
    returns_actual_prompt: bool = True  # a rewritten prompt is reported as actual_prompt
    accepts_shot_type: bool = False
    shots_in_prompt: bool = False  # multi-shot is written in the prompt ("Shot 1 [0-3 s]: …")
    templates: tuple[str, ...] = ()  # empty: the model takes no template
    prompt_max: int = 800
    submit_per_second: int = 2
    concurrent_tasks: int = 2
    # Past concurrent_tasks a create is kept PENDING until a task ends, not refused (429).
    queues_excess_tasks: bool = False
    prices: dict[str, Price] = field(default_factory=dict)  # by currency; empty: not published
    negative_prompt_max: int = NEGATIVE_PROMPT_MAX
    # Some deployments differ from the model's main terms (e.g. Virginia's wan2.6-i2v durations).
    durations_by_region: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def duration_is_fixed(self) -> bool:
        return len(self.durations) == 1

    @property
    def duration_is_range(self) -> bool:
        return is_range(self.durations)

    @property
    def roles(self) -> frozenset[str]:
        """Every media role the model takes (in one combination or another)."""
        return frozenset().union(*self.media)

    @property
    def accepts_audio_url(self) -> bool:
        return DRIVING_AUDIO in self.roles

    @property
    def has_sound_by_default(self) -> bool:
        return self.audio is not Audio.SILENT

    def price(self, currency: str) -> Price | None:
        return self.prices.get(currency)


def _seconds(lo: int, hi: int) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1))


_WAN26_EN = "sound, lip-sync to your audio, multi-shot storytelling, 2–15 s"
_WAN26_ZH = "有声、音频口型同步、多镜头叙事，2–15 秒"

_WAN27_EN = ("first and last frame, continue a clip, lip-sync to your audio, multi-shot written "
             "in the prompt, 2–15 s with sound")
_WAN27_ZH = "首尾帧、视频续写、音频口型同步、提示词写多镜头，2–15 秒有声"
_WAN27 = dict(
    family="wan2.7", regions=("beijing", "singapore"), protocol=Protocol.MEDIA, media=WAN27_MEDIA,
    usage=Usage.SPLIT, returns_actual_prompt=False, shots_in_prompt=True,
    resolutions=("720P", "1080P"), default_resolution="1080P",
    durations=_seconds(2, 15), default_duration=5, audio=Audio.ALWAYS,
    prompt_max=5000, submit_per_second=5, concurrent_tasks=5, queues_excess_tasks=True,
    prices={"CNY": Price("CNY", {"720P": 0.60, "1080P": 1.00}, checked=PRICES_CHECKED_2026_10),
            "USD": Price("USD", {"720P": 0.10, "1080P": 0.15}, checked=PRICES_CHECKED_2026_10)},
)
_KF2V = dict(protocol=Protocol.KF2V, media=FIRST_AND_LAST, durations=(5,), default_duration=5,
             queues_excess_tasks=True)
_KF2V_EN, _KF2V_ZH = "first and last frame, silent 5 s clips", "首尾帧生视频，无声 5 秒"

_MODELS: tuple[Model, ...] = (
    Model(
        id="wan2.6-i2v-flash", family="wan2.6", usage=Usage.SPLIT, returns_actual_prompt=False,
        regions=("beijing", "singapore"),
        resolutions=("720P", "1080P"), default_resolution="1080P",
        durations=_seconds(2, 15), default_duration=5,
        audio=Audio.SWITCHABLE, media=FRAME_OR_AUDIO, accepts_shot_type=True,
        prompt_max=1500, submit_per_second=5, concurrent_tasks=5,
        prices={"CNY": Price("CNY", {"720P": 0.30, "1080P": 0.50},
                             {"720P": 0.15, "1080P": 0.25}),
                "USD": Price("USD", {"720P": 0.05, "1080P": 0.075},
                             {"720P": 0.025, "1080P": 0.0375})},
        summary_en="Fast wan2.6: " + _WAN26_EN + "; sound can be switched off for half the price",
        summary_zh="wan2.6 极速版：" + _WAN26_ZH + "；可关闭声音，价格减半",
    ),
    Model(
        id="wan2.6-i2v", family="wan2.6", usage=Usage.SPLIT, returns_actual_prompt=False,
        regions=("beijing", "singapore", "virginia"),
        resolutions=("720P", "1080P"), default_resolution="1080P",
        durations=_seconds(2, 15), default_duration=5,
        audio=Audio.ALWAYS, media=FRAME_OR_AUDIO, accepts_shot_type=True,
        prompt_max=1500, submit_per_second=5, concurrent_tasks=5,
        prices={"CNY": Price("CNY", {"720P": 0.60, "1080P": 1.00}),
                "USD": Price("USD", {"720P": 0.10, "1080P": 0.15})},
        summary_en="wan2.6: " + _WAN26_EN + "; best quality",
        summary_zh="wan2.6：" + _WAN26_ZH + "；画质最佳",
        durations_by_region={"virginia": (5, 10, 15)},
    ),
    Model(
        id="wan2.6-i2v-us", family="wan2.6", usage=Usage.SPLIT, returns_actual_prompt=False,
        regions=("virginia",),
        resolutions=("720P", "1080P"), default_resolution="1080P",
        durations=(5, 10, 15), default_duration=5,
        audio=Audio.ALWAYS, media=FRAME_OR_AUDIO, accepts_shot_type=True,
        prompt_max=1500, submit_per_second=5, concurrent_tasks=5,
        prices={},  # no published price
        summary_en="wan2.6, US deployment: sound, lip-sync, multi-shot; 5, 10 or 15 s",
        summary_zh="wan2.6 美国部署版：有声、口型同步、多镜头；5、10 或 15 秒",
    ),
    Model(id="wan2.7-i2v", **_WAN27,
          summary_en="wan2.7 (recommended): " + _WAN27_EN,
          summary_zh="wan2.7（推荐）：" + _WAN27_ZH),
    Model(id="wan2.7-i2v-2026-04-25", **_WAN27,
          summary_en="wan2.7, the 2026-04-25 snapshot (fixed behaviour): " + _WAN27_EN,
          summary_zh="wan2.7 2026-04-25 快照版（行为固定）：" + _WAN27_ZH),
    Model(
        id="wan2.5-i2v-preview", family="wan2.5", regions=("beijing", "singapore"),
        resolutions=("480P", "720P", "1080P"), default_resolution="1080P",
        durations=(5, 10), default_duration=5,
        audio=Audio.ALWAYS, media=FRAME_OR_AUDIO,
        prompt_max=1500, submit_per_second=5, concurrent_tasks=5,
        prices={"CNY": Price("CNY", {"480P": 0.30, "720P": 0.60, "1080P": 1.00})},
        summary_en="wan2.5 preview: sound and lip-sync to your audio; 5 or 10 s",
        summary_zh="wan2.5 预览版：有声、音频口型同步；5 或 10 秒",
    ),
    Model(
        id="wan2.2-i2v-flash", family="wan2.2", regions=("beijing", "singapore"),
        resolutions=("480P", "720P", "1080P"), default_resolution="720P",
        durations=(5,), default_duration=5,
        prices={"CNY": Price("CNY", {"480P": 0.10, "720P": 0.20, "1080P": 0.48})},
        summary_en="wan2.2 fast: silent 5 s clips, cheapest",
        summary_zh="wan2.2 极速版：无声 5 秒短片，最便宜",
    ),
    Model(
        id="wan2.2-i2v-plus", family="wan2.2", regions=("beijing", "singapore"),
        resolutions=("480P", "1080P"), default_resolution="1080P",
        durations=(5,), default_duration=5,
        prices={"CNY": Price("CNY", {"480P": 0.14, "1080P": 0.70})},
        summary_en="wan2.2 plus: silent 5 s clips, richer motion",
        summary_zh="wan2.2 专业版：无声 5 秒短片，动作更丰富",
    ),
    Model(
        id="wanx2.1-i2v-plus", family="wan2.1", usage=Usage.RATIO, regions=("beijing",),
        resolutions=("720P",), default_resolution="720P",
        durations=(5,), default_duration=5, templates=ALL_TEMPLATES,
        summary_en=(f"wan2.1 plus: silent 5 s clips and all {len(ALL_TEMPLATES)} one-click "
                    "effect templates"),
        summary_zh=f"wan2.1 专业版：无声 5 秒短片，全部 {len(ALL_TEMPLATES)} 个一键特效模板",
    ),
    Model(
        id="wanx2.1-i2v-turbo", family="wan2.1", usage=Usage.RATIO, regions=("beijing",),
        resolutions=("480P", "720P"), default_resolution="720P",
        durations=(3, 4, 5), default_duration=5, templates=TURBO_TEMPLATES,
        summary_en=(f"wan2.1 turbo: silent 3–5 s clips and {len(TURBO_TEMPLATES)} one-click "
                    "effect templates"),
        summary_zh=f"wan2.1 极速版：无声 3–5 秒短片，{len(TURBO_TEMPLATES)} 个一键特效模板",
    ),
    Model(
        id="wan2.1-i2v-plus", family="wan2.1", usage=Usage.RATIO, regions=("singapore",),
        resolutions=("720P",), default_resolution="720P",
        durations=(5,), default_duration=5, templates=ALL_TEMPLATES,
        prices={"USD": Price("USD", {"720P": 0.10})},
        summary_en="wan2.1 plus (international): silent 5 s clips",
        summary_zh="wan2.1 专业版（国际）：无声 5 秒短片",
    ),
    Model(
        id="wan2.1-i2v-turbo", family="wan2.1", usage=Usage.RATIO, regions=("singapore",),
        resolutions=("480P", "720P"), default_resolution="720P",
        durations=(3, 4, 5), default_duration=5, templates=TURBO_TEMPLATES,
        prices={"USD": Price("USD", {"480P": 0.036, "720P": 0.036})},
        summary_en="wan2.1 turbo (international): silent 3–5 s clips, cheapest",
        summary_zh="wan2.1 极速版（国际）：无声 3–5 秒短片，最便宜",
    ),
    Model(
        id="wan2.2-kf2v-flash", family="wan2.2", regions=("beijing",), **_KF2V,
        resolutions=("480P", "720P", "1080P"), default_resolution="720P", usage=Usage.VIDEO_TIER,
        prices={"CNY": Price("CNY", {"480P": 0.10, "720P": 0.20, "1080P": 0.48},
                             checked=PRICES_CHECKED_2026_10)},
        summary_en="wan2.2 fast " + _KF2V_EN + ", cheapest",
        summary_zh="wan2.2 极速版" + _KF2V_ZH + "，最便宜",
    ),
    Model(
        id="wanx2.1-kf2v-plus", family="wan2.1", regions=("beijing",), **_KF2V,
        resolutions=("720P",), default_resolution="720P", usage=Usage.RATIO,
        templates=KF2V_TEMPLATES,
        prices={"CNY": Price("CNY", {"720P": 0.70}, checked=PRICES_CHECKED_2026_10)},
        summary_en=(f"wan2.1 plus {_KF2V_EN}, and {len(KF2V_TEMPLATES)} one-click effect "
                    "templates from one photo"),
        summary_zh=f"wan2.1 专业版{_KF2V_ZH}，{len(KF2V_TEMPLATES)} 个单图一键特效模板",
    ),
    Model(
        id="wan2.1-kf2v-plus", family="wan2.1", regions=("singapore",), **_KF2V,
        resolutions=("720P",), default_resolution="720P", usage=Usage.RATIO,
        submit_per_second=1,
        prices={"USD": Price("USD", {"720P": 0.10}, checked=PRICES_CHECKED_2026_10)},
        summary_en="wan2.1 plus (international) " + _KF2V_EN,
        summary_zh="wan2.1 专业版（国际）" + _KF2V_ZH,
    ),
)
MODELS: dict[str, Model] = {m.id: m for m in _MODELS}


@cache
def model_in_region(model_id: str, region_id: str) -> Model | None:
    """The model as deployed in a region (its regional terms applied), or None if not offered."""
    model = MODELS.get(model_id)
    if model is None or region_id not in model.regions:
        return None
    durations = model.durations_by_region.get(region_id, model.durations)
    templates = model.templates if REGIONS[region_id].templates else ()
    default_duration = model.default_duration if model.default_duration in durations else durations[0]
    return replace(model, durations=durations, default_duration=default_duration, templates=templates)


def models_in_region(region_id: str) -> list[Model]:
    return [m for mid in MODELS if (m := model_in_region(mid, region_id)) is not None]


def template_names(template_id: str, language: str = "en") -> str:
    t = TEMPLATES[template_id]
    return t.name_zh if language.startswith("zh") else t.name_en


def estimate_price(model: Model, region_id: str, resolution: str, duration: int,
                   with_audio: bool = True) -> tuple[float, str] | None:
    """Estimated cost (amount, currency) of one clip, or None where no price is published."""
    currency = REGIONS[region_id].currency
    price = model.price(currency)
    per_second = price.for_second(resolution, with_audio) if price else None
    return None if per_second is None else (round(per_second * duration, 4), currency)
