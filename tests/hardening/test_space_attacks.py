"""A public Space, attacked the way an anonymous visitor can: through Gradio's raw queue
(`/gradio_api/queue/join` with a `fn_index`, which any client may call for every event, public or
not) and with forged browser state (gr.BrowserState hands the server whatever JSON is sent)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hardening.conftest import launched
from tests.hardening.studio_http import Call, call, fn_index, generate_data, upload
from tests.media_factory import write_image
from ui.app import HISTORY_STORAGE_KEY, deny_all_but
from ui.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SECRET_TEXT = "the studio's state secret"
MARKERS = (SECRET_TEXT.encode(), b"[project]", b"def load_settings", b"# Wan Studio",
           b"forged-target")


async def _config(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    return (await http.get(f"{url}/config")).json()


def _component(config: dict[str, Any], elem_id: str) -> int:
    for comp in config["components"]:
        if comp.get("props", {}).get("elem_id") == elem_id:
            return int(comp["id"])
    raise LookupError(elem_id)


def _browser_state(config: dict[str, Any]) -> int:
    """The single videos' history (the Story tab's state is attacked in tests/ui/test_story_api)."""
    return next(int(c["id"]) for c in config["components"] if c["type"] == "browserstate"
                and c["props"].get("storage_key") == HISTORY_STORAGE_KEY)


def _events_taking(config: dict[str, Any], component: int) -> list[dict[str, Any]]:
    return [d for d in config["dependencies"] if component in d["inputs"] and d.get("backend_fn")]


def _data_for(dep: dict[str, Any], values: dict[int, Any]) -> list[Any]:
    return [values.get(i) for i in dep["inputs"]]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _forged_history(targets: list[Path]) -> list[dict[str, Any]]:
    """Records naming server files in every field that ever held a path, unsigned and with a
    made-up signature."""
    records = []
    for i, target in enumerate(targets):
        records.append({
            "v": 1, "sig": "0" * 64, "token": f"forged{i}", "task_id": f"../../{target.name}",
            "region": "beijing", "key_kind": "simulator", "status": "SUCCEEDED",
            "video": str(target), "poster": str(target), "created": time.time(),
            "request": {"model": "wan2.2-i2v-flash", "image": str(target),
                        "audio_url": str(target), "prompt": "forged"},
        })
        records.append({**records[-1], "token": f"plain{i}", "v": None, "sig": None,
                        "status": "PENDING", "task_id": str(uuid.uuid4())})
    return records


async def _attack_history(http: httpx.AsyncClient, url: str,
                          history: list[dict[str, Any]]) -> list[Call]:
    """Every event that reads the history, called by index with the forged one: the gallery,
    the table, selecting a video, reusing its settings, restoring its tasks."""
    config = await _config(http, url)
    state = _browser_state(config)
    calls = []
    session = uuid.uuid4().hex[:11]
    for dep in _events_taking(config, state):
        data = _data_for(dep, {state: history})
        calls.append(await call(http, url, int(dep["id"]), data, session=session,
                                event_data={"index": 0, "value": None, "selected": True}))
    reuse = fn_index(config, "on_reuse")  # reads what the select event kept for this session
    calls.append(await call(http, url, reuse, [None], session=session))
    return calls


async def _served(http: httpx.AsyncClient, url: str, calls: list[Call]) -> tuple[int, int]:
    """(file URLs or paths the answers named that were fetched, of them serving a target)."""
    fetched = hits = 0
    for c in calls:
        for text in set(_strings(c.outputs)) | {c.text}:
            for marker in MARKERS:
                if marker.decode() in text and marker != b"forged-target":
                    hits += 1
        for value in set(_strings(c.outputs)):
            if not re.fullmatch(r"(/|https?://)\S{1,500}", value):
                continue  # not a path or a link
            target = value if value.startswith("http") else f"{url}/gradio_api/file={value}"
            answer = await http.get(target)
            fetched += 1
            if answer.status_code == 200 and any(m in answer.content for m in MARKERS):
                hits += 1
    return fetched, hits


def _normalised(calls: list[Call]) -> list[str]:
    """The answers with what differs between any two runs (ids, times) taken out."""
    out = []
    for c in calls:
        text = json.dumps(c.outputs, sort_keys=True) + str(c.error)
        out.append(text.replace("present", "X").replace("missing", "X"))
    return out


def test_forged_history_serves_no_server_file_and_leaks_no_existence(
        studio_settings: Settings, tmp_path: Path) -> None:
    cache = studio_settings.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "state-secret").write_text(SECRET_TEXT)
    in_tmp = tmp_path / "present.txt"
    in_tmp.write_text("forged-target")
    targets = [cache / "state-secret", REPO / "pyproject.toml", REPO / "ui" / "settings.py",
               REPO / "README.md", in_tmp]
    present = _forged_history([in_tmp])
    missing = _forged_history([tmp_path / "missing.txt"])

    async def attack(url: str) -> tuple[list[Call], list[Call], list[Call]]:
        async with httpx.AsyncClient(timeout=30) as http:
            every = await _attack_history(http, url, _forged_history(targets))
            a = await _attack_history(http, url, present)
            b = await _attack_history(http, url, missing)
            served = await _served(http, url, every + a)
            return every, a, b, served

    with launched(studio_settings) as url:
        every, a, b, (fetched, hits) = asyncio.run(attack(url))
    crashes = [c.error for c in every + a + b if c.error]
    print(f"\nforged history: events called {len(every)}, files named by the answers fetched "
          f"{fetched}, served {hits}, existing vs missing path answers differ "
          f"{sum(x != y for x, y in zip(_normalised(a), _normalised(b)))}, crashes {len(crashes)}")
    assert len(every) >= 5  # load, gallery/table, select, restore, reuse
    assert hits == 0
    assert _normalised(a) == _normalised(b), "an existing path is answered differently"
    assert not crashes


def test_blocked_paths_cover_everything_but_what_is_served(tmp_path: Path) -> None:
    root = tmp_path / "root"
    keep = [root / "cache" / "videos", root / "assets"]
    for path in (*keep, root / "cache" / "other", root / "src"):
        path.mkdir(parents=True)
    (root / "cache" / "state-secret").write_text("s")
    (root / "README.md").write_text("r")
    denied = set(deny_all_but(root, keep))
    assert denied == {root / "cache" / "other", root / "cache" / "state-secret", root / "src",
                      root / "README.md"}
    assert deny_all_but(root / "src", keep) == [root / "src"]


def test_launch_blocks_the_working_directory_and_the_temp_dir(studio_settings: Settings) -> None:
    from ui.app import launch_options

    cache = studio_settings.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "state-secret").write_text(SECRET_TEXT)  # as load_settings writes it, before launch
    blocked = [Path(p) for p in launch_options(studio_settings)["blocked_paths"]]

    def is_blocked(path: Path) -> bool:
        return any(path == b or b in path.parents for b in blocked)

    assert is_blocked(REPO / "pyproject.toml") and is_blocked(REPO / "ui" / "settings.py")
    assert is_blocked(cache / "state-secret")
    assert not is_blocked(cache / "videos" / "x.mp4") and not is_blocked(REPO / "assets" / "cat.jpg")


def _owner_settings(sim: Any, tmp_path: Path) -> Settings:
    return Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                    task_seconds_hint=8, state_secret="attack-secret", trust_proxy=True)


def test_resume_by_id_from_another_session_shows_no_prompt_or_token_and_cannot_cancel(
        start_sim: Any, tmp_path: Path) -> None:
    slow = start_sim(task_seconds=16, limits=False)  # PENDING for about 4 s
    settings = _owner_settings(slow, tmp_path)
    image = write_image(tmp_path / "in.jpg", 640, 480)
    prompt = f"the owner's private prompt {uuid.uuid4().hex}"

    async def scenario(url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            config = await _config(http, url)
            generate, resume = fn_index(config, "generate"), fn_index(config, "on_resume")
            cancel = fn_index(config, "on_cancel")
            data = generate_data(await upload(http, url, image), "", prompt=prompt)
            owner = asyncio.create_task(call(http, url, generate, data,
                                             {"X-Forwarded-For": "198.51.100.1"}))
            task_id = None
            for _ in range(100):
                await asyncio.sleep(0.1)
                ids = [s for s in slow.sim.store.all_tasks()]
                if ids:
                    task_id = ids[0].task_id
                    break
            assert task_id is not None
            spy = await call(http, url, resume, [task_id, "beijing", "", []],
                             {"X-Forwarded-For": "203.0.113.9"})
            spy_record = spy.records[-1] if spy.records else None
            refused = await call(http, url, cancel, [spy_record],
                                 {"X-Forwarded-For": "203.0.113.9"})
            finished = await owner
            return {"spy": spy, "spy_record": spy_record, "refused": refused,
                    "owner": finished, "task_id": task_id}

    with launched(settings) as url:
        got = asyncio.run(scenario(url))
    owner_records = got["owner"].records
    owner_token = owner_records[-1]["token"]
    spy_text = got["spy"].text
    assert got["spy_record"] is not None and got["spy_record"]["task_id"] == got["task_id"]
    assert got["spy_record"]["request"] is None
    leaked = [what for what, secret in (("prompt", prompt), ("token", owner_token))
              if secret in spy_text or secret in got["refused"].text]
    status = slow.sim.store.all_tasks()[0].status(time.time())
    print(f"\nresume by id from another session: owner's prompt or token shown "
          f"{len(leaked)}, cancel by the other session took effect {int(status == 'CANCELED')}")
    assert not leaked, leaked
    assert "Only the page" in got["refused"].text
    assert status == "SUCCEEDED" and owner_records[-1]["status"] == "SUCCEEDED"


def _visitor(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{n}"}


def test_one_visitor_cannot_hold_back_another(start_sim: Any, tmp_path: Path) -> None:
    """30 jobs from one visitor (and invented keys) delay another visitor's job by at most one
    job's time; beyond the visitor's own line the studio says it is busy."""
    sim = start_sim(task_seconds=2.0, limits=True)
    settings = replace(_owner_settings(sim, tmp_path), task_seconds_hint=2.0)
    image = write_image(tmp_path / "in.jpg", 640, 480)

    async def scenario(url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=120) as http:
            index = fn_index(await _config(http, url), "generate")
            uploaded = await upload(http, url, image)

            async def one(visitor: int, key: str = "") -> tuple[float, Call]:
                start = time.monotonic()
                result = await call(http, url, index, generate_data(uploaded, key),
                                    _visitor(visitor))
                return time.monotonic() - start, result

            alone, solo = await one(9)
            flood = [asyncio.create_task(one(1, f"sk-invented-{i}")) for i in range(30)]
            await asyncio.sleep(1.0)
            other, other_call = await one(2)
            flooded = await asyncio.gather(*flood)
            return {"alone": alone, "solo": solo, "other": other, "other_call": other_call,
                    "flooded": flooded}

    with launched(settings) as url:
        got = asyncio.run(scenario(url))
    made = [c for _, c in got["flooded"] if c.error is None]
    busy = [c for _, c in got["flooded"] if c.error and "on the way" in c.error]
    accounts = {r.account for r in sim.requests if r.route == "create"}
    delay = got["other"] - got["alone"]
    # One job's time while the flood runs: the quickest of the flooding visitor's own jobs (each
    # of those ran beside the others, on the same two cores).
    one_job = min(seconds for seconds, c in got["flooded"] if c.error is None)
    print(f"\none visitor's 30 jobs: made {len(made)}, turned away busy {len(busy)}; another "
          f"visitor's job {got['other']:.1f} s against {got['alone']:.1f} s alone (delay "
          f"{delay:.1f} s; one job during the flood {one_job:.1f} s); accounts used "
          f"{len(accounts)}")
    assert got["solo"].error is None and got["other_call"].error is None
    assert len(made) == settings.visitor_at_once + settings.visitor_waiting
    assert len(busy) == 30 - len(made)
    # Held back by at most one job: it waits for one of the flood's jobs to end, then runs.
    assert got["other"] <= 2 * one_job + 0.5
    assert len(accounts) == 1, "an invented key opened an account of its own"


def test_forged_forwarded_for_is_one_visitor_without_a_trusted_proxy(
        start_sim: Any, tmp_path: Path) -> None:
    sim = start_sim(task_seconds=3.0, limits=False)
    settings = replace(_owner_settings(sim, tmp_path), trust_proxy=False)
    image = write_image(tmp_path / "in.jpg", 640, 480)

    async def scenario(url: str) -> list[Call]:
        async with httpx.AsyncClient(timeout=120) as http:
            index = fn_index(await _config(http, url), "generate")
            uploaded = await upload(http, url, image)
            return await asyncio.gather(*(call(http, url, index, generate_data(uploaded, ""),
                                               _visitor(n)) for n in range(10, 20)))

    with launched(settings) as url:
        calls = asyncio.run(scenario(url))
    busy = [c for c in calls if c.error and "on the way" in c.error]
    print(f"\n10 calls with 10 forged X-Forwarded-For, no trusted proxy: busy {len(busy)}")
    assert len(busy) == 10 - settings.visitor_at_once - settings.visitor_waiting


@pytest.mark.parametrize("forged", ["unsigned", "resigned"])
def test_forged_pending_records_are_not_followed(studio_settings: Settings, sim: Any,
                                                 forged: str) -> None:
    """300 forged PENDING records cost no status query and leave no job behind."""
    records = [{"v": 1, "sig": "f" * 64 if forged == "resigned" else None,
                "token": f"t{i}", "task_id": str(uuid.uuid4()), "region": "beijing",
                "key_kind": "simulator", "status": "PENDING", "created": time.time(),
                "request": None} for i in range(300)]

    async def scenario(url: str) -> Call:
        async with httpx.AsyncClient(timeout=60) as http:
            restore = fn_index(await _config(http, url), "on_restore")
            return await call(http, url, restore, [records, ""])

    before = len(sim.requests)
    with launched(studio_settings) as url:
        result = asyncio.run(scenario(url))
    queries = [r for r in sim.requests[before:] if r.route == "status"]
    print(f"\n300 forged PENDING records ({forged}): status queries {len(queries)}")
    assert result.error is None
    assert not queries
