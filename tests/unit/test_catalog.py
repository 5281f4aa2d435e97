"""The catalog holds the facts of the vendor guide; these tests pin them against the spec."""

from __future__ import annotations

import pytest

from client import catalog
from client.catalog import Audio

SEED_MODELS = {
    "wan2.6-i2v-flash", "wan2.6-i2v", "wan2.6-i2v-us", "wan2.5-i2v-preview", "wan2.2-i2v-flash",
    "wan2.2-i2v-plus", "wanx2.1-i2v-plus", "wanx2.1-i2v-turbo", "wan2.1-i2v-plus", "wan2.1-i2v-turbo",
}


# The media and first-and-last-frame models of ../shared/spec/dashscope-media-and-kf2v.md.
SPEC_2026_MODELS = {"wan2.7-i2v", "wan2.7-i2v-2026-04-25", "wan2.2-kf2v-flash",
                    "wanx2.1-kf2v-plus", "wan2.1-kf2v-plus"}


def test_every_seed_and_2026_model_is_in_the_catalog():
    assert set(catalog.MODELS) == SEED_MODELS | SPEC_2026_MODELS


def test_regions_and_base_urls():
    assert catalog.REGIONS["beijing"].base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert catalog.REGIONS["singapore"].base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert catalog.REGIONS["virginia"].base_url == "https://dashscope-us.aliyuncs.com/api/v1"


@pytest.mark.parametrize("region, expected", [
    ("beijing", {"wan2.6-i2v-flash", "wan2.6-i2v", "wan2.5-i2v-preview", "wan2.2-i2v-flash",
                 "wan2.2-i2v-plus", "wanx2.1-i2v-plus", "wanx2.1-i2v-turbo", "wan2.7-i2v",
                 "wan2.7-i2v-2026-04-25", "wan2.2-kf2v-flash", "wanx2.1-kf2v-plus"}),
    ("singapore", {"wan2.6-i2v-flash", "wan2.6-i2v", "wan2.5-i2v-preview", "wan2.2-i2v-flash",
                   "wan2.2-i2v-plus", "wan2.1-i2v-plus", "wan2.1-i2v-turbo", "wan2.7-i2v",
                   "wan2.7-i2v-2026-04-25", "wan2.1-kf2v-plus"}),
    ("virginia", {"wan2.6-i2v", "wan2.6-i2v-us"}),
])
def test_models_per_region(region, expected):
    assert {m.id for m in catalog.models_in_region(region)} == expected


@pytest.mark.parametrize("model, resolutions, default", [
    ("wan2.6-i2v-flash", ("720P", "1080P"), "1080P"),
    ("wan2.5-i2v-preview", ("480P", "720P", "1080P"), "1080P"),
    ("wan2.2-i2v-flash", ("480P", "720P", "1080P"), "720P"),
    ("wan2.2-i2v-plus", ("480P", "1080P"), "1080P"),
    ("wanx2.1-i2v-plus", ("720P",), "720P"),
    ("wanx2.1-i2v-turbo", ("480P", "720P"), "720P"),
])
def test_resolutions(model, resolutions, default):
    m = catalog.MODELS[model]
    assert (m.resolutions, m.default_resolution) == (resolutions, default)


def test_durations_follow_the_spec():
    assert catalog.MODELS["wan2.6-i2v-flash"].durations == tuple(range(2, 16))
    assert catalog.MODELS["wan2.6-i2v-flash"].duration_is_range
    assert catalog.model_in_region("wan2.6-i2v", "virginia").durations == (5, 10, 15)
    assert catalog.model_in_region("wan2.6-i2v", "beijing").durations == tuple(range(2, 16))
    assert catalog.MODELS["wan2.5-i2v-preview"].durations == (5, 10)
    assert catalog.MODELS["wan2.2-i2v-plus"].duration_is_fixed
    assert catalog.MODELS["wanx2.1-i2v-turbo"].durations == (3, 4, 5)
    assert not catalog.MODELS["wanx2.1-i2v-turbo"].duration_is_range


def test_audio_behaviour():
    assert catalog.MODELS["wan2.6-i2v-flash"].audio is Audio.SWITCHABLE
    assert catalog.MODELS["wan2.6-i2v"].audio is Audio.ALWAYS
    assert catalog.MODELS["wan2.5-i2v-preview"].audio is Audio.ALWAYS
    assert catalog.MODELS["wan2.2-i2v-flash"].audio is Audio.SILENT
    audio_url_models = {m.id for m in catalog.MODELS.values() if m.accepts_audio_url}
    assert audio_url_models == {"wan2.6-i2v-flash", "wan2.6-i2v", "wan2.6-i2v-us",
                                "wan2.5-i2v-preview", "wan2.7-i2v", "wan2.7-i2v-2026-04-25"}
    shot_models = {m.id for m in catalog.MODELS.values() if m.accepts_shot_type}
    assert shot_models == {"wan2.6-i2v-flash", "wan2.6-i2v", "wan2.6-i2v-us"}


def test_templates():
    assert len(catalog.ALL_TEMPLATES) == 26
    assert catalog.KF2V_TEMPLATES == ("hanfu-1", "solaron", "magazine", "mech1", "mech2")
    assert catalog.MODELS["wanx2.1-kf2v-plus"].templates == catalog.KF2V_TEMPLATES
    assert catalog.TEMPLATES["flying"].name_zh == "魔法悬浮"
    assert catalog.TEMPLATES["inflate"].name_zh == "气球膨胀"
    assert all(t.advice_en and t.advice_zh and t.name_en for t in catalog.TEMPLATES.values())
    assert len(catalog.MODELS["wanx2.1-i2v-plus"].templates) == 26
    turbo = set(catalog.MODELS["wanx2.1-i2v-turbo"].templates)
    assert turbo == {"squish", "rotation", "poke", "inflate", "dissolve", "carousel", "singleheart",
                     "flying", "rose", "crystalrose", "hug", "frenchkiss", "coupleheart"}
    # Templates exist only in Beijing.
    assert catalog.model_in_region("wan2.1-i2v-plus", "singapore").templates == ()
    assert not any(m.templates for m in catalog.models_in_region("singapore"))


def test_limits():
    for m in catalog.MODELS.values():
        if m.id in SPEC_2026_MODELS:
            continue  # test_2026_limits
        expected = 5 if m.family in ("wan2.5", "wan2.6") else 2
        assert (m.submit_per_second, m.concurrent_tasks) == (expected, expected), m.id
        assert m.prompt_max == (1500 if m.family in ("wan2.5", "wan2.6") else 800)
        assert m.negative_prompt_max == 500


def test_prices_are_estimates_with_a_date():
    flash = catalog.MODELS["wan2.6-i2v-flash"]
    assert catalog.estimate_price(flash, "beijing", "1080P", 10) == (5.0, "CNY")
    assert catalog.estimate_price(flash, "beijing", "1080P", 10, with_audio=False) == (2.5, "CNY")
    assert catalog.estimate_price(flash, "singapore", "720P", 4) == (0.2, "USD")
    assert flash.price("CNY").checked == catalog.PRICES_CHECKED
    assert catalog.estimate_price(catalog.MODELS["wan2.6-i2v-us"], "virginia", "720P", 5) is None


def test_2026_limits():
    """wan2.7: 5 per second, 5 at once (the wan2.6 tier; spec §2.9), 5,000-character prompts;
    kf2v: 2 per second (1 for the international plus), 800 characters."""
    for model_id in ("wan2.7-i2v", "wan2.7-i2v-2026-04-25"):
        m = catalog.MODELS[model_id]
        assert (m.submit_per_second, m.concurrent_tasks, m.prompt_max) == (5, 5, 5000)
    assert catalog.MODELS["wan2.2-kf2v-flash"].submit_per_second == 2
    assert catalog.MODELS["wan2.1-kf2v-plus"].submit_per_second == 1
    assert {catalog.MODELS[m].prompt_max for m in SPEC_2026_MODELS if "kf2v" in m} == {800}
