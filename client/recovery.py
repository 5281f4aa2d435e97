"""The task a create may have made when its answer was lost (or was a 5xx): looked up in the
account's task list around the send time, leaving out the tasks this studio already follows."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Container, Sequence

from .errors import AmbiguousTask, NoAnswer, NotSent, ServiceError, WanError
from .http import WanClient
from .tasks import TaskSummary, list_tasks

# How far a task's creation time (the service's clock, in the list) may stray from this
# machine's send time and still be this create's: clock skew, plus the time on the wire.
MARGIN_SECONDS = 5.0
# A create still in flight on the service when its answer was lost shows up late: the list is
# read again after these pauses before "no task" or "this one task" is believed.
RECHECK_SECONDS: tuple[float, ...] = (1.0, 2.0)
PAGE_SIZE = 100  # the list's largest page
MAX_PAGES = 20

_now = time.time  # indirections so tests can run on a simulated clock
_sleep = asyncio.sleep


async def find_created_task(client: WanClient, model: str, sent_at: float, *, cause: WanError,
                            known: Container[str] = frozenset(),
                            recheck: Sequence[float] = RECHECK_SECONDS) -> TaskSummary:
    """The one task of `model` created from `sent_at` (epoch seconds, ± MARGIN_SECONDS) on and
    not in `known`. NotSent when there is none; AmbiguousTask (never a guess: a wrong one would
    show one visitor another's video) when there are several; NoAnswer when the list cannot be
    read. `cause`: the create's failure, described in those errors."""
    seen: dict[str, TaskSummary] = {}
    try:
        for pause in (0.0, *recheck):
            await _sleep(pause)
            for row in await _rows_since(client, model, sent_at - MARGIN_SECONDS):
                if row.task_id not in known and _in_window(row, sent_at):
                    seen[row.task_id] = row
            if len(seen) > 1:
                break
    except WanError as exc:  # whatever kept the list unread, the question stays open
        raise NoAnswer(f"{_what_happened(cause)} ({cause.message}), and the task list could not "
                       f"be read to see whether a task was made ({exc.message}): do not send it "
                       "again before looking at the account's task list",
                       sent_at=sent_at, failed_at=_now()) from None
    found = sorted(seen.values(), key=lambda row: row.created.timestamp() if row.created else 0)
    if len(found) == 1 and found[0].created is not None:
        return found[0]
    if not found:
        raise NotSent(f"{_what_happened(cause)}, and the account's task list shows no {model} "
                      "task made since then: the request did not reach the service or made no "
                      "task, so nothing was charged and it is safe to send it again")
    ids = tuple(row.task_id for row in found)
    raise AmbiguousTask(f"{_what_happened(cause)}, and {len(ids)} {model} tasks were made on "
                        f"this account at that moment ({', '.join(ids)}): which one is this "
                        "request's cannot be told, so none is followed and nothing more is "
                        "sent; resume the right one by its task id", candidates=ids)


def _in_window(row: TaskSummary, sent_at: float) -> bool:
    if row.created is None:
        return True  # cannot be ruled out (counted, never followed alone)
    return sent_at - MARGIN_SECONDS <= row.created.timestamp() <= _now() + MARGIN_SECONDS


async def _rows_since(client: WanClient, model: str, since: float) -> list[TaskSummary]:
    """The model's listed tasks, page by page, until a page sorted newest first reaches back
    past `since`. No start_time/end_time filter: their time zone is not documented, and a
    wrong guess would hide the very task looked for (the list's gmt_create is epoch ms)."""
    rows: list[TaskSummary] = []
    for page_no in range(1, MAX_PAGES + 1):
        page = await list_tasks(client, page_no=page_no, page_size=PAGE_SIZE, model_name=model)
        rows += page.tasks
        if not page.tasks or page_no >= page.total_page or _reaches_back(page.tasks, since):
            return rows
    raise ServiceError(f"the task list holds more than {MAX_PAGES * PAGE_SIZE} {model} tasks")


def _reaches_back(rows: list[TaskSummary], since: float) -> bool:
    times = [row.created.timestamp() for row in rows if row.created is not None]
    newest_first = all(a >= b for a, b in itertools.pairwise(times))
    return len(times) == len(rows) and newest_first and times[-1] < since


def _what_happened(cause: WanError) -> str:
    if isinstance(cause, NoAnswer):
        return "the create request got no answer"
    if cause.status is not None:
        return f"the create request was answered with HTTP {cause.status}"
    return "the answer to the create request could not be read"
