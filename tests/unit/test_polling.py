"""The query pacer keeps one account's status queries under the quota, whatever it watches."""

from __future__ import annotations

import asyncio

import pytest

from client.polling import QueryPacer

pytestmark = pytest.mark.anyio


async def test_queries_of_one_account_are_spaced_and_others_are_not_held_up() -> None:
    pacer = QueryPacer(per_second=10)
    now = 100.0
    granted: list[tuple[str, float]] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)  # the others ask while this one waits

    async def take(account: str) -> None:
        await pacer.turn(account, lambda: now, sleep)
        granted.append((account, now))

    await asyncio.gather(*(take("a") for _ in range(5)), take("b"))
    assert sorted(round(w, 6) for w in waits) == [0.1, 0.2, 0.3, 0.4]  # "b" never waited
    assert len(granted) == 6


async def test_an_idle_account_or_a_clock_jump_does_not_make_anyone_wait() -> None:
    pacer = QueryPacer(per_second=10)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    await pacer.turn("a", lambda: 500.0, sleep)
    await pacer.turn("a", lambda: 10.0, sleep)  # another (simulated) clock, far behind
    await pacer.turn("a", lambda: 900.0, sleep)
    assert waits == []
