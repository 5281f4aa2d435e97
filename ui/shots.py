"""The shot list of models that read multi-shot from the prompt (wan2.7): rows of (from s, to s,
what happens), written into the prompt as its "Shot 1 [0-3 s]: …" lines."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import gradio as gr

from client.errors import InvalidInput

from .i18n import t
from .messages import error_sentence

MAX_SHOTS = 15  # one a second of the longest video; the page's table holds no more rows
SHOT_LINE = re.compile(r"^\s*Shot \d+ \[[^\]\n]*\]:")
_SHOT_PARTS = re.compile(r"^\s*Shot \d+ \[\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*s?\s*\]:"
                         r"\s*(.*?)\s*$")


@dataclass(frozen=True)
class Shot:
    start: float
    end: float
    text: str

    def line(self, number: int) -> str:
        return f"Shot {number} [{self.start:g}-{self.end:g} s]: {self.text}"


FIRST_ROWS = ((0, 3, ""), (3, 5, ""))  # what the list starts with: two shots to fill in


def headers(lang: str) -> list[str]:
    """The table's column names (the table shows plain text, not the browser's translations)."""
    return [t(key, lang) for key in ("shots_from", "shots_to", "shots_text")]


def first_table(lang: str) -> dict[str, Any]:
    """The list as a page in `lang` starts: its first rows under headers in that language."""
    return {"data": [list(row) for row in FIRST_ROWS], "headers": headers(lang)}


def _seconds(value: Any) -> float | None:
    """A cell's number of seconds; None for an empty or unreadable cell."""
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def shots_of(rows: Any, duration: Any, lang: str = "en") -> list[Shot]:
    """The shots of the table's rows (blank rows skipped), in order, or InvalidInput("shots", …)
    naming the shot and the rule: times in order, no overlap, within the video's length."""
    if not isinstance(rows, list) or len(rows) > MAX_SHOTS:
        raise InvalidInput("shots", t("shots_none", lang), f"1–{MAX_SHOTS} shots")
    length = _seconds(duration)
    shots: list[Shot] = []
    for row in rows:
        cells = list(row)[:3] if isinstance(row, (list, tuple)) else []
        cells += [None] * (3 - len(cells))
        start, end, text = _seconds(cells[0]), _seconds(cells[1]), _text(cells[2])
        if start is None and end is None and not text:
            continue
        n = len(shots) + 1
        if start is None or end is None or start < 0 or end <= start:
            raise InvalidInput("shots", t("shots_times", lang, n=n))
        if not text:
            raise InvalidInput("shots", t("shots_no_text", lang, n=n))
        if shots and start < shots[-1].end:
            raise InvalidInput("shots", t("shots_overlap", lang, n=n, start=f"{start:g}",
                                          before=n - 1, end=f"{shots[-1].end:g}"))
        if length is not None and end > length:
            raise InvalidInput("shots", t("shots_past_end", lang, n=n, end=f"{end:g}",
                                          duration=f"{length:g}"))
        shots.append(Shot(start, end, text))
    if not shots:
        raise InvalidInput("shots", t("shots_none", lang))
    return shots


def write_shots(shots: list[Shot], prompt: Any) -> str:
    """The prompt with its shot lines replaced by these: the person's other lines (a style,
    the subject) stay first, then "Shot 1 [0-3 s]: …", one shot a line."""
    kept = [line for line in str(prompt or "").splitlines() if not SHOT_LINE.match(line)]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, *(shot.line(n) for n, shot in enumerate(shots, 1))])


def rows_in(prompt: Any) -> list[list[Any]]:
    """The prompt's shot lines ("Shot 1 [0-3 s]: …"), as the list's rows: what the person
    wrote or edited there is what the list shows and writes back (at most MAX_SHOTS)."""
    rows: list[list[Any]] = []
    for line in str(prompt or "").splitlines():
        found = _SHOT_PARTS.match(line)
        if found and len(rows) < MAX_SHOTS:
            start, end = (float(found[i]) for i in (1, 2))
            rows.append([int(start) if start.is_integer() else start,
                         int(end) if end.is_integer() else end, found[3]])
    return rows


def table_from_prompt(prompt: Any, lang: str) -> Any:
    """The list as the prompt's shot lines say; left as it is when the prompt has none."""
    rows = rows_in(prompt)
    return {"data": rows, "headers": headers(lang)} if rows else gr.skip()


def shots_outputs(rows: Any, prompt: Any, duration: Any, lang: str) -> tuple[Any, str]:
    """(the prompt box, the line under the list) for "Write into the prompt": the prompt is
    left as it is when a row is wrong, and the line says which and why."""
    try:
        shots = shots_of(rows, duration, lang)
    except InvalidInput as exc:
        return gr.skip(), "⚠ " + error_sentence(exc, lang)
    return write_shots(shots, prompt), t("shots_written", lang, count=len(shots))
