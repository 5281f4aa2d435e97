"""Which controls a model shows and what they offer, read from the catalog and the field list:
updates keyed by the controls' elem_ids, never a positional tuple."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from client import catalog
from client.catalog import FIRST_CLIP, Model
from client.fields import BY_NAME, BY_ROLE, FIELDS, MEDIA, Field, visible

from .i18n import EN, label, t

Update = dict[str, Any]
NO_TEMPLATE = ""
_TEMPLATE = BY_NAME["template"]


def elem_id(field: Field) -> str:
    """The page's id of a field's control (a media field's upload; its link is "<id>-url")."""
    return field.label.replace("_", "-")


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


def region_choices() -> list[tuple[str, str]]:
    return [(f"{r.name_en} / {r.name_zh}", r.id) for r in catalog.REGIONS.values()]


def all_template_choices(lang: str) -> list[tuple[str, str]]:
    """Every template (before a model narrows the list, e.g. for the examples)."""
    return choice_list(_TEMPLATE, tuple(catalog.TEMPLATES), lang)


def choice_list(field: Field, values: tuple[Any, ...],
                lang: str | None) -> list[tuple[I18nData | str, Any]]:
    """(label, value) for a choice control; lang None: labels the browser translates. A choice
    whose control shows "" when unset offers "" first, labelled "<label>_none"."""
    def name(value: Any) -> Any:
        if field is _TEMPLATE:
            return catalog.template_names(value, lang or "en")
        key = f"{field.label}_{value}"
        if key not in EN:
            return value
        return t(key, lang) if lang else label(key)

    none = [(t(f"{field.label}_none", lang or "en"), "")] if field.shown == "" else []
    return none + [(name(v), v) for v in values]


def template_advice(template_id: str | None, lang: str) -> str:
    if not template_id:
        return ""
    template = catalog.TEMPLATES.get(template_id)
    if template is None:
        return ""
    advice = template.advice_zh if lang == "zh" else template.advice_en
    return t("template_advice", lang, name=catalog.template_names(template_id, lang), advice=advice)


def _region(value: Any) -> str:
    """The page's region, or the default one for a value that is no region."""
    return value if value in catalog.REGIONS else catalog.DEFAULT_REGION


def model_choices_update(region: Any, current: str | None, lang: str) -> Update:
    region = _region(region)
    choices = model_choices(region, lang)
    ids = [value for _, value in choices]
    return gr.update(choices=choices, value=current if current in ids else ids[0])


def _deployed(model_id: Any, region: Any) -> tuple[Model, str]:
    region = _region(region)
    model = (catalog.model_in_region(model_id, region)
             or catalog.models_in_region(region)[0])  # the page sends any value it likes
    return model, region


def model_updates(model_id: Any, region: Any, current: Mapping[str, Any],
                  lang: str) -> dict[str, Update]:
    """Updates, by elem_id, for every control that follows the model: what it offers, whether
    it is shown, the values kept where the model still allows them (`current`: the form's
    values by input name), the template's advice, the shot list and the model's description."""
    model, region = _deployed(model_id, region)
    template = current.get("template")
    templated = bool(template) and template in model.templates
    updates: dict[str, Update] = media_updates(model.id, region, current)
    for field in FIELDS:
        if field.kind == "number" and callable(field.choices):
            updates.update(_numbers(field, model, current.get(field.name), lang))
        elif field.kind != "media":
            props = _props(field, model, current.get(field.name), templated, lang)
            if props:
                updates[elem_id(field)] = gr.update(**props)
    kept = template if templated else NO_TEMPLATE
    # "" rather than None: None would leave the previous model's text in place.
    updates["template-advice"] = gr.update(value=template_advice(kept, lang), visible=templated)
    updates["shots"] = gr.update(visible=model.shots_in_prompt)
    updates["model-info"] = gr.update(value=model_label(model, region, lang))
    return updates


def clip_replaces(model: Model) -> frozenset[str]:
    """The media roles a clip to continue replaces on this model: those that never go with
    one (on wan2.7 the first frame and the driving audio)."""
    if FIRST_CLIP not in model.roles:
        return frozenset()
    return frozenset(role for role in model.roles
                     if not any({FIRST_CLIP, role} <= combo for combo in model.media))


def clip_given(current: Mapping[str, Any]) -> bool:
    """Whether the form holds a clip to continue (an upload or a typed link)."""
    clip = BY_ROLE[FIRST_CLIP]
    return bool(current.get(clip.file_input)) or bool(
        str(current.get(clip.link_input) or "").strip())


def media_updates(model_id: Any, region: Any, current: Mapping[str, Any]) -> dict[str, Update]:
    """Which media inputs are shown, by their column's elem_id: those the model takes, less
    those a chosen clip replaces."""
    model, _ = _deployed(model_id, region)
    replaced = clip_replaces(model) if clip_given(current) else frozenset()
    return {elem_id(f) + "-inputs": gr.update(visible=visible(model, f) and f.role not in replaced)
            for f in MEDIA}


def _props(field: Field, model: Model, current: Any, templated: bool,
           lang: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if field.refusal is not None or field.prompt_part:
        props["visible"] = visible(model, field) and not (templated and field.prompt_part)
    if callable(field.choices):
        allowed = field.allowed(model) or ()
        kept = current if current in allowed else _unset(field, model)
        props.update(choices=choice_list(field, allowed, lang) if field.kind == "dropdown"
                     else list(allowed), value=kept)
        if field.kind == "radio":
            props.update(interactive=len(allowed) > 1, info=_fixed_note(field, allowed, lang))
    if field.max_chars is not None:
        props["max_length"] = field.max_chars(model)
    return props


def _numbers(field: Field, model: Model, current: Any, lang: str) -> dict[str, Update]:
    """A number the model offers a few values of: a slider for a long run of whole numbers, else
    a radio (fixed when there is one value); both write the one hidden value the form reads."""
    allowed = field.allowed(model) or ()
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        current = int(current)  # the page's number arrives as a float
    value = current if current in allowed else _unset(field, model)
    ranged = catalog.is_range(allowed)
    key = elem_id(field)
    slider = (gr.update(visible=True, minimum=allowed[0], maximum=allowed[-1], value=value, step=1)
              if ranged else gr.update(visible=False))
    choice = gr.update(visible=not ranged, choices=list(allowed), value=value,
                       interactive=not ranged and len(allowed) > 1,
                       info=_fixed_note(field, allowed, lang))
    return {f"{key}-slider": slider, f"{key}-choice": choice, f"{key}-value": gr.update(value=value)}


def _unset(field: Field, model: Model) -> Any:
    return field.fallback(model) if field.fallback is not None else field.shown


def _fixed_note(field: Field, allowed: tuple[Any, ...], lang: str) -> str:
    """ "This model makes … only" when it allows one value; "" clears an earlier note."""
    key = f"fixed_{field.name}"
    return t(key, lang, value=allowed[0]) if len(allowed) == 1 and key in EN else ""


def template_updates(template: str | None, lang: str) -> dict[str, Update]:
    """While a template is chosen its advice shows and the prompt's parts hide."""
    chosen = bool(template)
    updates = {elem_id(f): gr.update(visible=not chosen) for f in FIELDS if f.prompt_part}
    updates["template-advice"] = gr.update(value=template_advice(template, lang), visible=chosen)
    return updates
