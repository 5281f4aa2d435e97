"""Fixtures shared by the integration tests."""

from __future__ import annotations

import dashscope
import pytest


@pytest.fixture
def sdk_sim(sim, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", sim.base_url)
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    return sim
