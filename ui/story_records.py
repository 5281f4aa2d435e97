"""A story as the browser keeps it (gr.BrowserState): a small record the server seals (the
story's token, its shots' task ids and states, the storyboard's digest) beside the storyboard,
whose media are named as the store knows them. A value changed or made up opens as None."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from .records import Record, RecordSeal, _canonical
from .runner import Phase
from .story_jobs import FILM_PREFIX, StoryJob

STORY_KIND = "story"
BOARD_MAX_BYTES = 256 * 1024  # 8 shots of wan2.7's longest prompt in Chinese, escaped, fit


def _canonical_board(board: Any) -> bytes:
    return _canonical({"board": board})  # as records are compared: as a browser returns JSON


def _digest(board: Any) -> str:
    return hashlib.sha256(_canonical_board(board)).hexdigest()


class StorySeal:
    """Seals story records with a key of their own (derived from the records' key), so a
    single video's record never opens as a story's, nor the other way round."""

    def __init__(self, record_key: bytes) -> None:
        self._seal = RecordSeal(hmac.new(record_key, b"story-records", hashlib.sha256).digest())

    def keep(self, story: StoryJob) -> dict[str, Any]:
        """The browser's value for a story: its sealed record and its storyboard."""
        shots = [{"task_id": job.task_id, "status": job.phase.value} for job in story.shots]
        record = {"kind": STORY_KIND, "token": story.token, "region": story.plan.story.region,
                  "key_kind": story.key_kind, "created": story.created, "shots": shots,
                  "film": story.film is not None, "seconds": story.plan.seconds,
                  "board": _digest(story.board)}
        return {"record": self._seal.seal(record), "storyboard": story.board}

    def open(self, value: Any) -> tuple[Record, dict[str, Any]] | None:
        """(the record, the storyboard) if the server issued both unchanged; else None."""
        if not isinstance(value, dict) or not isinstance(value.get("storyboard"), dict):
            return None
        record = self._seal.open(value.get("record"))
        if record is None or record.get("kind") != STORY_KIND:
            return None
        board = value["storyboard"]
        try:
            if len(_canonical_board(board)) > BOARD_MAX_BYTES:
                return None
            same = hmac.compare_digest(_digest(board), str(record.get("board")))
        except (TypeError, ValueError):  # not JSON-able: not ours
            return None
        if not same or not isinstance(record.get("shots"), list):
            return None
        return record, board


def film_id(record: Record) -> str:
    return FILM_PREFIX + str(record["token"])


def shot_states(record: Record) -> list[tuple[str | None, Phase | None]]:
    """(task id, phase) of each shot a sealed record names."""
    found = []
    for shot in record["shots"]:
        shot = shot if isinstance(shot, dict) else {}
        task_id = shot.get("task_id")
        found.append((task_id if isinstance(task_id, str) else None,
                      Phase.of(shot.get("status"))))
    return found
