"""Hardening fixtures: the studio's services on the session simulator, and the studio launched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from ui.app import build_app, launch_options
from ui.handlers import Services
from ui.settings import Settings


@contextmanager
def launched(settings: Settings) -> Iterator[str]:
    """The studio for `settings` served on a loopback port (in this process); yields its URL."""
    demo = build_app(settings)
    _, url, _ = demo.launch(**launch_options(settings), prevent_thread_lock=True,
                            server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        yield url.rstrip("/")
    finally:
        demo.close()


def collect(agen: Any) -> list[Any]:
    """Every step an async handler streams, run to its end."""
    async def run() -> list[Any]:
        return [item async for item in agen]
    return asyncio.run(run())


def is_record(value: Any) -> bool:
    return isinstance(value, dict) and "token" in value  # gr.skip() is a dict too


@pytest.fixture
def studio_settings(sim: Any, tmp_path: Path) -> Settings:
    return Settings(simulator_url=sim.base_url, cache_dir=tmp_path / "cache",
                    task_seconds_hint=0.3, state_secret="hardening-secret")


@pytest.fixture
def services(studio_settings: Settings) -> Services:
    return Services.create(studio_settings)


@pytest.fixture
def byok_settings(studio_settings: Settings, sim: Any) -> Settings:
    """The studio off the demo: each visitor's own key is used (one account per key)."""
    return replace(studio_settings, simulator_url=None, base_url=sim.base_url)
