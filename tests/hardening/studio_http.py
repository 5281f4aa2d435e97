"""Talk to a launched studio the way its page does (queue/join + the SSE stream), keeping every
byte the server sent so tests can search them."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ui.form import INPUT_NAMES, INPUTS

FORM_ORDER = INPUT_NAMES  # /generate's parameters before api_key, in order


@dataclass
class Call:
    """One event as the page saw it: every SSE line, each full set of outputs (diffs applied,
    skipped outputs left as they were), and the error if it ended with one."""

    raw: list[str] = field(default_factory=list)
    outputs: list[list[Any]] = field(default_factory=list)
    error: str | None = None
    _sent: list[Any] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return "\n".join(self.raw)

    @property
    def output(self) -> list[Any] | None:
        return self.outputs[-1] if self.outputs else None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The history records the event sent, in order (the page merges each one)."""
        found: list[dict[str, Any]] = []
        for outputs in self.outputs:
            record = outputs[2] if len(outputs) > 2 else None
            if isinstance(record, dict) and "token" in record and (not found or
                                                                 found[-1] != record):
                found.append(record)
        return found

    def receive(self, data: list[Any], full: bool) -> None:
        # Diffs apply to what the server sent last (an "update" too); the page shows the last
        # real value of each output.
        sent = self._sent or [None] * len(data)
        self._sent = [copy.deepcopy(new if full else _apply_diff(old, new))
                      for old, new in zip(sent, data)]
        shown = self.outputs[-1] if self.outputs else [None] * len(data)
        self.outputs.append([old if isinstance(new, dict) and new.get("__type__") == "update"
                             else new for old, new in zip(shown, self._sent)])


def _apply_diff(value: Any, diff: list[list[Any]]) -> Any:
    """Gradio streams a generator's later outputs as [action, path, value] edits."""
    for action, path, new in diff:
        if not path:
            value = value + new if action == "append" else new
            continue
        target = value
        for key in path[:-1]:
            target = target[key]
        if action == "append":
            target[path[-1]] += new
        elif action == "delete":
            del target[path[-1]]
        elif action == "add" and isinstance(target, list):
            target.insert(path[-1], new)
        else:
            target[path[-1]] = new
    return value


def fn_index(config: dict[str, Any], api_name: str) -> int:
    """The id of the event with this api_name (also for private ones: the page knows them)."""
    for i, dep in enumerate(config["dependencies"]):
        if dep.get("api_name") == api_name:
            return int(dep.get("id", i))
    raise LookupError(api_name)


async def upload(client: httpx.AsyncClient, url: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        answer = await client.post(f"{url}/gradio_api/upload",
                                   files={"files": (path.name, f, "application/octet-stream")})
    answer.raise_for_status()
    return {"path": answer.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def generate_data(image: dict[str, Any], api_key: str, **changes: Any) -> list[Any]:
    form: dict[str, Any] = {i.name: i.default for i in INPUTS}  # e.g. no last frame, no clip
    form |= {
        "image": image, "img_url": "", "audio_file": None, "audio_url": "", "prompt": "waves",
        "negative_prompt": "", "model": "wan2.2-i2v-flash", "region": "beijing",
        "resolution": "480P", "duration": 5, "shot_type": "single", "audio": True,
        "template": "", "seed": -1, "prompt_extend": True, "watermark": False,
    }
    form.update(changes)
    return [form[name] for name in FORM_ORDER] + [api_key]


async def call(client: httpx.AsyncClient, url: str, index: int, data: list[Any],
               headers: dict[str, str] | None = None, *, session: str | None = None,
               event_data: Any = None) -> Call:
    """Join the queue with `data` for event `index` and read the stream to its end. Calls with
    the same `session` share the session's gr.State, as one page's events do."""
    session = session or uuid.uuid4().hex[:11]
    joined = await client.post(f"{url}/gradio_api/queue/join",
                               json={"data": data, "fn_index": index, "session_hash": session,
                                     "event_data": event_data, "trigger_id": None},
                               headers=headers or {})
    result = Call(raw=[joined.text])
    if joined.status_code != 200:
        result.error = f"HTTP {joined.status_code}: {joined.text}"
        return result
    async with client.stream("GET", f"{url}/gradio_api/queue/data",
                             params={"session_hash": session}, headers=headers or {}) as stream:
        async for line in stream.aiter_lines():
            if not line:
                continue
            result.raw.append(line)
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            kind = message.get("msg")
            output = message.get("output") or {}
            if kind in ("process_generating", "process_completed") and output.get("data"):
                full = kind == "process_completed" or not result.outputs
                result.receive(output["data"], full)
            if kind == "process_completed":
                if not message.get("success"):
                    result.error = str(output.get("error") or output)
                break
            if kind == "unexpected_error":
                result.error = str(message.get("message"))
                break
    return result
