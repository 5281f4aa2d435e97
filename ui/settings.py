"""Studio settings read from the environment once, at start-up (never the key itself)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HOST_KEY_LIMIT_DEFAULT = 10  # generations per visitor per hour on the host's key
CACHE_MAX_MB_DEFAULT = 2000  # downloaded videos kept on disk before the oldest are deleted
SIMULATOR_KEY = "sk-simulator"  # what the embedded simulator is called with; not a secret

ApiVisibility = Literal["public", "private"]


@dataclass(frozen=True)
class Settings:
    """How this studio runs. `has_host_key` only records that DASHSCOPE_API_KEY is set: the
    client reads the key from the environment itself, so it never passes through the UI."""

    has_host_key: bool = False
    simulator_url: str | None = None  # the embedded simulator's base URL (banner shown)
    base_url: str | None = None  # DASHSCOPE_HTTP_BASE_URL: one endpoint for every region
    api_visibility: ApiVisibility = "public"
    host_key_limit: int = HOST_KEY_LIMIT_DEFAULT
    cache_dir: Path = Path(tempfile.gettempdir()) / "wan-studio"
    cache_max_mb: int = CACHE_MAX_MB_DEFAULT
    state_secret: str = ""  # encrypts the browser history; stable so a restart can read it
    # Generations streamed at once. Unlimited: each is an async wait on a server-side job, and
    # the local queue per key and model (queue.py) is what bounds the work sent to the service.
    generate_concurrency: int | None = None
    task_seconds_hint: float | None = None  # expected task time for the ETA (simulator)

    @property
    def simulated(self) -> bool:
        return self.simulator_url is not None

    @property
    def endpoint(self) -> str | None:
        """The base URL every request goes to, or None for each region's own host."""
        return self.simulator_url or self.base_url


def _visibility(value: str | None, default: ApiVisibility) -> ApiVisibility:
    if not value:
        return default
    lowered = value.strip().lower()
    if lowered not in ("public", "private"):
        raise ValueError(f"WAN_STUDIO_API must be 'public' or 'private', not {value!r}")
    return "public" if lowered == "public" else "private"


def _positive_int(value: str | None, name: str, default: int) -> int:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must be 0 or more, not {number}")
    return number


def state_secret(cache_dir: Path) -> str:
    """A secret kept next to the cache so browser history survives a restart of the studio."""
    path = cache_dir / "state-secret"
    try:
        return path.read_text().strip()
    except OSError:
        pass
    cache_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(environ: Mapping[str, str] | None = None, *,
                  simulator_url: str | None = None) -> Settings:
    """Settings from the environment; `simulator_url` when the studio runs on its own simulator."""
    env = os.environ if environ is None else environ
    has_host_key = bool(env.get("DASHSCOPE_API_KEY", "").strip())
    default_visibility: ApiVisibility = "private" if has_host_key else "public"
    cache_dir = Path(env.get("WAN_STUDIO_CACHE_DIR") or Path(tempfile.gettempdir()) / "wan-studio")
    return Settings(
        has_host_key=has_host_key,
        simulator_url=simulator_url,
        base_url=env.get("DASHSCOPE_HTTP_BASE_URL") or None,
        api_visibility=_visibility(env.get("WAN_STUDIO_API"), default_visibility),
        host_key_limit=_positive_int(env.get("WAN_STUDIO_HOST_KEY_LIMIT"),
                                     "WAN_STUDIO_HOST_KEY_LIMIT", HOST_KEY_LIMIT_DEFAULT),
        cache_dir=cache_dir,
        cache_max_mb=_positive_int(env.get("WAN_STUDIO_CACHE_MAX_MB"), "WAN_STUDIO_CACHE_MAX_MB",
                                   CACHE_MAX_MB_DEFAULT),
        # A Space restarts with an empty disk: give it a secret so history survives restarts.
        state_secret=env.get("WAN_STUDIO_STATE_SECRET") or state_secret(cache_dir),
    )
