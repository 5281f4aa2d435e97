"""`python -m client models`: the catalog as a plain-text table, and how a model's media
combinations read ("first frame [+ last frame] [+ audio] | clip [+ last frame]")."""

from __future__ import annotations

from collections.abc import Callable

from . import catalog
from .catalog import DRIVING_AUDIO, FIRST_CLIP, FIRST_FRAME, LAST_FRAME, Model
from .fields import BY_ROLE
from .protocols import CREATE_PATHS, ROLES, WIRES

ROLE_WORDS = {FIRST_FRAME: "first frame", LAST_FRAME: "last frame", FIRST_CLIP: "clip",
              DRIVING_AUDIO: "audio"}


def role_flag(role: str) -> str:
    return BY_ROLE[role].flag or role


def media_combinations(model: Model, name: Callable[[str], str] = ROLE_WORDS.__getitem__,
                       plus: str = " + ", template: str = "template") -> str:
    """The media sets a model takes, read from Model.media: each smallest set, then the roles
    that may join it, e.g. "first frame [+ last frame] [+ audio] | clip [+ last frame]" (with
    name=role_flag, plus=" ": "--image [--last-frame] [--audio] | --first-clip [--last-frame]").
    A set whose extras do not combine freely is written out in full; a model whose effect
    templates need only the first frame says so (with the word `template`)."""
    combos = set(model.media)
    parts: list[str] = []
    for base in sorted((c for c in combos if not any(o < c for o in combos)), key=_in_role_order):
        group = {c for c in combos if base <= c}
        extras = sorted(frozenset().union(*group) - base, key=ROLES.index)
        if len(group) == 2 ** len(extras):  # every mix of the extras is allowed
            optional = (f"[{plus.lstrip()}{name(r)}]" for r in extras)
            parts.append(" ".join([plus.join(_named(base, name)), *optional]))
        else:
            parts += [plus.join(_named(c, name)) for c in sorted(group, key=_in_role_order)]
    if model.templates and catalog.FRAME_ONLY[0] not in combos:
        parts.append(plus.join((name(FIRST_FRAME), template)))
    return " | ".join(parts)


def _in_role_order(combo: frozenset[str]) -> list[int]:
    return sorted(ROLES.index(r) for r in combo)


def _named(combo: frozenset[str], name: Callable[[str], str]) -> list[str]:
    return [name(r) for r in sorted(combo, key=ROLES.index)]


def _durations(model: Model) -> str:
    lo, hi = model.durations[0], model.durations[-1]
    text = f"{lo}–{hi}" if model.duration_is_range else ", ".join(map(str, model.durations))
    return text + f" (default {model.default_duration})"


def _per_tier(per_second: dict[str, float]) -> str:
    return " ".join(f"{tier} {amount:g}" for tier, amount in per_second.items())


LATER_PRICES_MARK = "†"  # a price read on a later date than catalog.PRICES_CHECKED


def _prices(model: Model) -> str:
    texts = []
    for price in model.prices.values():
        text = f"{price.currency} " + _per_tier(price.per_second)
        if price.silent_per_second:
            text += ", silent " + _per_tier(price.silent_per_second)
        texts.append(text + (LATER_PRICES_MARK if price.checked != catalog.PRICES_CHECKED else ""))
    return "; ".join(texts) or "not published"


def models_table() -> str:
    """The catalog as a plain-text table, one row per model, with the endpoints under it."""
    header = ("model", "regions", "resolutions", "seconds", "sound", "inputs", "body", "shots",
              "templates", "prompt", "est. price per second")
    rows = [header]
    for model in catalog.MODELS.values():
        seconds = _durations(model)
        for region, durations in model.durations_by_region.items():
            seconds += f"; {region}: " + ", ".join(map(str, durations))
        resolutions = ", ".join(r + ("*" if r == model.default_resolution else "")
                                for r in model.resolutions)
        templates = max(len(deployed.templates) for r in model.regions
                        if (deployed := catalog.model_in_region(model.id, r)) is not None)
        rows.append((model.id, ", ".join(model.regions), resolutions, seconds, model.audio.value,
                     media_combinations(model), model.protocol.value,
                     "single/multi" if model.accepts_shot_type else "-",
                     str(templates) if templates else "-",
                     str(model.prompt_max), _prices(model)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    later = sorted({p.checked for m in catalog.MODELS.values() for p in m.prices.values()}
                   - {catalog.PRICES_CHECKED})
    flags = ", ".join(f"{role_flag(r)} ({ROLE_WORDS[r]})" for r in ROLES)
    lines += [
        "",
        "* default resolution. Prices are estimates per generated second, checked "
        f"{catalog.PRICES_CHECKED}" + (f" ({LATER_PRICES_MARK} {', '.join(later)})" if later
                                       else "")
        + "; see the Model Studio price page. Effect templates work in Beijing only.",
        f"inputs: the media a model takes together ([+ x]: may be added; |: or). Flags: {flags}.",
        "body: " + "; ".join(f"{' and '.join(p.value for p in WIRES if WIRES[p].path == path)} "
                             f"POST {path}" for path in CREATE_PATHS) + ".",
    ]
    return "\n".join(lines)
