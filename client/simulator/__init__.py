"""A DashScope-compatible Wan image-to-video server that renders real videos (demos, tests)."""

from __future__ import annotations

from .context import SimConfig
from .faults import Fault, FaultPlan

__all__ = ["Fault", "FaultPlan", "SimConfig"]
