"""Studio settings read from the environment once, at start-up (never the key itself)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HOST_KEY_LIMIT_DEFAULT = 10  # generations per visitor per hour on the host's key
DEMO_LIMIT_DEFAULT = 30  # generations per visitor per hour on the built-in simulator
VISITOR_AT_ONCE_DEFAULT = 2  # a visitor's videos in the account's queue at once (shared keys)
VISITOR_WAITING_DEFAULT = 3  # and behind those; more are turned away until one ends
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
    demo_limit: int = DEMO_LIMIT_DEFAULT
    visitor_at_once: int = VISITOR_AT_ONCE_DEFAULT
    visitor_waiting: int = VISITOR_WAITING_DEFAULT
    # Count visitors by the last X-Forwarded-For entry (what a proxy such as a Space's appends)
    # instead of the socket's peer. Only where such a proxy is in front: otherwise anyone can
    # write the header and be a new visitor with every call.
    trust_proxy: bool = False
    cache_dir: Path = Path(tempfile.gettempdir()) / "wan-studio"
    cache_max_mb: int = CACHE_MAX_MB_DEFAULT
    # The server's secret for the browser's history: it seals each record (a key that never
    # leaves the server) and derives the one Gradio encrypts the history with (which Gradio
    # publishes in the page's config). Stable, so a restart still reads old records.
    state_secret: str = field(default="", repr=False)
    # Generations streamed at once. Unlimited: each is an async wait on a server-side job, and
    # the local queue per key and model (queue.py) is what bounds the work sent to the service.
    generate_concurrency: int | None = None
    task_seconds_hint: float | None = None  # expected task time for the ETA (simulator)

    @property
    def record_key(self) -> bytes:
        return _derived(self.state_secret, "history-records")

    @property
    def browser_secret(self) -> str:
        return _derived(self.state_secret, "browser-state").hex()

    @property
    def simulated(self) -> bool:
        return self.simulator_url is not None

    @property
    def endpoint(self) -> str | None:
        """The base URL every request goes to, or None for each region's own host."""
        return self.simulator_url or self.base_url


def _derived(secret: str, purpose: str) -> bytes:
    # An empty secret (a test's Settings()) still gives a key; load_settings never leaves it empty.
    return hmac.new(secret.encode() or b"wan-studio", purpose.encode(), hashlib.sha256).digest()


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0 (true or false), not {value!r}")


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
        demo_limit=_positive_int(env.get("WAN_STUDIO_DEMO_LIMIT"), "WAN_STUDIO_DEMO_LIMIT",
                                 DEMO_LIMIT_DEFAULT),
        visitor_at_once=max(1, _positive_int(env.get("WAN_STUDIO_VISITOR_AT_ONCE"),
                                             "WAN_STUDIO_VISITOR_AT_ONCE",
                                             VISITOR_AT_ONCE_DEFAULT)),
        # A Space's proxy appends the caller's address; SPACE_ID is set on every Space.
        trust_proxy=_flag(env.get("WAN_STUDIO_TRUST_PROXY"), "WAN_STUDIO_TRUST_PROXY",
                          bool(env.get("SPACE_ID"))),
        cache_dir=cache_dir,
        cache_max_mb=_positive_int(env.get("WAN_STUDIO_CACHE_MAX_MB"), "WAN_STUDIO_CACHE_MAX_MB",
                                   CACHE_MAX_MB_DEFAULT),
        # A Space restarts with an empty disk: give it a secret so history survives restarts.
        state_secret=env.get("WAN_STUDIO_STATE_SECRET") or state_secret(cache_dir),
    )
