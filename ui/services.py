"""What the studio's handlers share for the life of the app, and whose key pays a request."""

from __future__ import annotations

from dataclasses import dataclass, field

from client.errors import InvalidInput

from .i18n import t
from .records import RecordSeal
from .runner import Credentials, Runner
from .settings import SIMULATOR_KEY, Settings
from .store import VideoStore
from .visitors import HourlyCap, VisitorLines


@dataclass
class Services:
    """What the handlers share for the life of the app: settings, the video store, the jobs,
    the seal on history records and the limits per visitor of a shared key."""

    settings: Settings
    store: VideoStore
    runner: Runner
    seal: RecordSeal
    cap: HourlyCap  # videos per visitor per hour on the host's key, or on the demo's
    lines: VisitorLines  # videos per visitor at once on a shared key
    restoring: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        store = VideoStore(settings.cache_dir, settings.cache_max_mb * 1024 * 1024)
        runner = Runner(store, base_url=settings.endpoint,
                        expected_seconds=settings.task_seconds_hint)
        limit = settings.demo_limit if settings.simulated else settings.host_key_limit
        return cls(settings, store, runner, RecordSeal(settings.record_key), HourlyCap(limit),
                   VisitorLines(settings.visitor_at_once, settings.visitor_waiting))


def credentials_for(services: Services, api_key: str | None, lang: str = "en") -> Credentials:
    """The key a request is paid with: the visitor's own, else the host's, else the simulator."""
    if services.settings.simulated:
        # One demo account for everyone: a typed key must not open an account (and limits) of
        # its own on the built-in simulator.
        return Credentials(SIMULATOR_KEY, "simulator")
    key = (api_key or "").strip()
    if key:
        return Credentials(key, "personal")
    if services.settings.has_host_key:
        return Credentials(None, "host")
    raise InvalidInput("api_key", t("rule_no_key", lang))
