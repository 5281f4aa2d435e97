"""The status line of a job and of a history record, in the page's language."""

from __future__ import annotations

from client.errors import AmbiguousTask

from .i18n import t
from .messages import error_sentence
from .records import Record
from .runner import Job, Phase


def duration_text(seconds: float, lang: str) -> str:
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    if lang == "zh":
        return f"{minutes} 分 {secs:02d} 秒" if minutes else f"{secs} 秒"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def ticking(seconds: float, step: int, lang: str) -> str:
    """A duration the page keeps counting (up with step 1, down with -1) by itself, so a waiting
    page needs no update from the server each second (ui/page.py: TICK_CLOCKS_JS)."""
    # Gradio's sanitiser drops data-* attributes, so the clock's state rides in class names.
    whole = round(max(0.0, seconds))
    direction = "up" if step > 0 else "down"
    return (f'<span class="wan-clock wan-{direction} wan-{lang} wan-s-{whole}">'
            f'{duration_text(whole, lang)}</span>')


def status_text(job: Job, lang: str, *, live: bool = True) -> str:
    """The status line(s) for a job, in the page's language. With live=False the running clocks
    are left out: what is left changes only when there is news worth sending to the page."""
    lines: list[str] = []
    phase = job.phase
    waited = (" · " + t("st_waited", lang, elapsed=ticking(job.elapsed, 1, lang))) if live else ""
    if phase is Phase.QUEUED and job.line_position > 0:
        lines.append(t("st_line", lang, position=job.line_position) + waited)
    elif phase is Phase.QUEUED and job.queue_position > 0:
        lines.append(t("st_queue", lang, position=job.queue_position) + waited)
    elif job.recovering:
        lines.append(t("st_recovering", lang))
    elif phase in (Phase.QUEUED, Phase.SUBMITTING):
        lines.append(t("st_submitting", lang))
        if job.retry_in:
            lines.append(t("st_retrying", lang, seconds=round(job.retry_in)))
    elif phase.waiting_at_service:
        elapsed = ticking(job.elapsed, 1, lang) if live else ""
        parts = [t("st_elapsed", lang, elapsed=elapsed)]
        if job.eta is not None:
            parts.append(t("st_eta", lang, eta=ticking(job.eta, -1, lang) if live else ""))
        lines.append(" · ".join([t(f"st_{phase.value.lower()}", lang), *parts]))
    elif phase is Phase.DOWNLOADING:
        lines.append(t("st_downloading", lang))
    elif phase is Phase.SUCCEEDED and job.resumed and job.submitted is None:
        lines.append("✓ " + t("st_made_earlier", lang, task_id=job.task_id or "—"))  # no clock
    elif phase is Phase.SUCCEEDED:
        lines.append("✓ " + t("st_succeeded", lang, elapsed=duration_text(job.elapsed, lang),
                              task_id=job.task_id or "—"))
        if job.waited >= 1:
            lines.append(t("st_waited_total", lang, elapsed=duration_text(job.waited, lang)))
    elif phase is Phase.CANCELED:
        lines.append(t("st_canceled", lang))
    elif job.error is not None:
        lines.append("⚠ " + error_sentence(job.error, lang))
        if isinstance(job.error, AmbiguousTask):
            lines.append(t("st_candidates", lang,
                           ids=", ".join(f"`{c}`" for c in job.error.candidates)))
    if job.task_id and phase is not Phase.SUCCEEDED:
        lines.append(t("st_task", lang, task_id=job.task_id))
    if job.resumed and not job.done:
        lines.append(t("st_resumed", lang))
    return "\n\n".join(lines)


def record_status_text(record: Record, lang: str) -> str:
    key = record.get("error")
    return "⚠ " + t(key, lang) if key else ""
