"""Which controls a model shows and what they offer, read from the catalog only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gradio.i18n import I18nData

from client import catalog
from client.catalog import Audio, Model
from client.request import SHOT_TYPES

from .i18n import label, t

NO_TEMPLATE = ""


@dataclass(frozen=True)
class DurationControl:
    kind: Literal["range", "choice", "fixed"]
    values: tuple[int, ...]
    value: int


@dataclass(frozen=True)
class ControlSpec:
    """Everything the page shows for one model in one region, in one language."""

    model: Model
    resolutions: tuple[str, ...]
    resolution: str
    resolution_fixed: bool
    duration: DurationControl
    shot_type: bool  # single / multi (wan2.6)
    audio_switch: bool  # sound on/off (wan2.6-i2v-flash)
    audio_input: bool  # voice or music upload (wan2.5 / wan2.6)
    templates: tuple[tuple[str, str], ...]  # (label, id), first entry "no template"; empty if none
    prompt_max: int


def model_label(model: Model, region: str, lang: str) -> str:
    price = catalog.estimate_price(model, region, model.default_resolution, 1)
    price_text = (t("model_price", lang, amount=_amount(price[0]), currency=price[1])
                  if price else t("model_no_price", lang))
    summary = model.summary_zh if lang == "zh" else model.summary_en
    return t("model_line", lang, id=model.id, summary=summary, price=price_text)


def _amount(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def model_choices(region: str, lang: str) -> list[tuple[str, str]]:
    return [(model_label(m, region, lang), m.id) for m in catalog.models_in_region(region)]


def default_model(region: str) -> str:
    return catalog.models_in_region(region)[0].id


def template_choices(model: Model, lang: str) -> tuple[tuple[str, str], ...]:
    if not model.templates:
        return ()
    named = tuple((catalog.template_names(tid, lang), tid) for tid in model.templates)
    return ((t("template_none", lang), NO_TEMPLATE), *named)


def all_template_choices(lang: str) -> tuple[tuple[str, str], ...]:
    """Every template (before a model narrows the list, e.g. for the examples)."""
    named = tuple((catalog.template_names(tid, lang), tid) for tid in catalog.TEMPLATES)
    return ((t("template_none", lang), NO_TEMPLATE), *named)


def duration_control(model: Model, current: int | None) -> DurationControl:
    value = current if current in model.durations else model.default_duration
    if model.duration_is_fixed:
        return DurationControl("fixed", model.durations, model.durations[0])
    kind: Literal["range", "choice"] = "range" if model.duration_is_range else "choice"
    return DurationControl(kind, model.durations, value)


def control_spec(model_id: str, region: str, lang: str = "en", *,
                 resolution: str | None = None, duration: int | None = None) -> ControlSpec:
    """The controls for `model_id` in `region`, keeping the current values where still allowed."""
    if region not in catalog.REGIONS:  # the page sends any value it likes
        region = catalog.DEFAULT_REGION
    model = catalog.model_in_region(model_id, region)
    if model is None:
        model = catalog.models_in_region(region)[0]
    chosen_resolution = resolution if resolution in model.resolutions else model.default_resolution
    return ControlSpec(
        model=model,
        resolutions=model.resolutions,
        resolution=chosen_resolution,
        resolution_fixed=len(model.resolutions) == 1,
        duration=duration_control(model, duration),
        shot_type=model.accepts_shot_type,
        audio_switch=model.audio is Audio.SWITCHABLE,
        audio_input=model.accepts_audio_url,
        templates=template_choices(model, lang),
        prompt_max=model.prompt_max,
    )


def shot_choices_i18n() -> list[tuple[I18nData, str]]:
    """Single / multi, labelled in the browser's language."""
    return [(label(f"shot_{s}"), s) for s in SHOT_TYPES]


def template_advice(template_id: str | None, lang: str) -> str:
    if not template_id:
        return ""
    template = catalog.TEMPLATES.get(template_id)
    if template is None:
        return ""
    advice = template.advice_zh if lang == "zh" else template.advice_en
    return t("template_advice", lang, name=catalog.template_names(template_id, lang), advice=advice)
