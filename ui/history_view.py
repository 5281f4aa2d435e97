"""The page's list of its own videos: the gallery and table, the entry picked in it, and its
settings for "use these settings again"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from .form import INPUT_NAMES, form_values
from .history import finished_videos, request_of
from .i18n import t
from .records import Record
from .services import Services
from .status import record_status_text

Update = dict[str, Any]


def reuse_settings(services: Services, record: Any, lang: str) -> dict[str, Any]:
    """Values for the form, by input name, from a history entry ("use these settings again"):
    public links, and uploads the studio kept (found by name), never a path the browser names."""
    opened = services.seal.open(record)
    req = request_of(opened, services.store) if opened is not None else None
    if req is None:
        return {name: gr.skip() for name in INPUT_NAMES}
    return form_values(req)


def last_seed(services: Services, record: Any) -> Any:
    opened = services.seal.open(record)
    req = request_of(opened, services.store) if opened is not None else None
    return req.seed if req is not None and req.seed is not None else gr.skip()


def history_view(services: Services, history: Any, lang: str) -> tuple[Update, str]:
    """(gallery of finished videos with captions, a list of every task with its status). Only
    sealed records count; each picture is found by the record's task id in the store."""
    records = services.seal.open_history(history)
    items = [(str(services.store.poster_for(r["task_id"]) or video), _caption(r))
             for r, video in finished_videos(records, services.store)]
    gallery = gr.update(value=items, visible=bool(items))
    rows = []
    for record in records:
        req = record.get("request") or {}
        what = req.get("template") or (req.get("prompt") or "")[:60]
        error = record_status_text(record, lang)
        code = f" `{record['code']}`" if record.get("code") else ""
        rows.append(f"| `{record.get('task_id') or '—'}` | {req.get('model', '—')} | "
                    f"{_cell(what)} | {record.get('status')}{code} {_cell(error)} |")
    if not rows:
        return gallery, t("history_empty", lang)
    header = " | ".join(t(k, lang) for k in ("col_task", "col_model", "col_prompt", "col_status"))
    table = f"| {header} |\n|---|---|---|---|\n" + "\n".join(rows)
    return gallery, table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _caption(record: Record) -> str:
    req = record.get("request") or {}
    what = req.get("template") or req.get("prompt") or ""
    return f"{req.get('model', '')} · {what[:40]}".strip(" ·")


def selected_record(services: Services, history: Any,
                    index: Any) -> tuple[Record, Path] | None:
    """The history entry behind the gallery item at `index`, and its video."""
    videos = finished_videos(services.seal.open_history(history), services.store)
    if not isinstance(index, int) or not 0 <= index < len(videos):
        return None
    return videos[index]
