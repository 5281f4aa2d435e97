"""SimConfig and the live state one simulator instance shares between its routes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from ..catalog import Protocol
from ..links import FetchLimits
from ..media import ImageRules
from .faults import FaultPlan
from .limits import AccountLimits
from .state import Store
from .worker import RenderWorker

REQUEST_LOG_SIZE = 100_000
MB = 1024 * 1024
# The newest kf2v reference allows 240–8000 px sides; older pages (and the client) say 360–2000
# (spec §5 decision 12: the simulator takes the wider one).
KF2V_NEWEST_IMAGE = ImageRules(240, 8000, 10 * MB)


@dataclass
class SimConfig:
    region: str = catalog.DEFAULT_REGION
    task_seconds: float = 4.0  # PENDING + RUNNING; about a quarter of it PENDING
    limits: bool = True  # account limits per key (see limits.py)
    data_dir: Path | None = None  # where uploads and result videos are kept; a temp dir if None
    result_ttl_seconds: float = 86400  # how long a video_url stays valid
    faults: FaultPlan | None = None  # faults armed on this instance
    test_faults: bool = True  # honour the X-Wan-Sim-Fault header
    render_workers: int = 2
    policy_ttl_seconds: float = 300  # upload policy validity
    # Result downloads at most this fast (None: as fast as loopback goes). Benchmarks use it to
    # time a download over a realistic link instead of loopback's gigabytes per second.
    result_bytes_per_second: float | None = None
    # Links a create call names are fetched by client.links.LinkFetcher: public addresses only,
    # except these "host:port" entries (tests serve media from loopback). Empty is the safe default.
    link_allow: tuple[str, ...] = ()
    link_limits: FetchLimits | None = None  # None: the defaults (10 s deadline, 4 at once)
    # Storage caps, so a public demo cannot fill its disk: uploads and result videos on disk
    # (the oldest go first). A result is also deleted once downloaded when the flag is on.
    uploads_max_mb: float = 512
    results_max_mb: float = 1024
    forget_downloaded_results: bool = False
    # The picture rules the simulated service applies where they differ from the wire's own
    # (client.protocols), by protocol.
    image_rules_by_protocol: dict[Protocol, ImageRules] = field(
        default_factory=lambda: {Protocol.KF2V: KF2V_NEWEST_IMAGE}
    )

    def __post_init__(self) -> None:
        if self.region not in catalog.REGIONS:
            raise ValueError(
                f"region: unknown region {self.region!r} (allowed: {', '.join(catalog.REGIONS)})"
            )
        if self.task_seconds < 0:
            raise ValueError("task_seconds: must be 0 or more")
        if self.result_bytes_per_second is not None and self.result_bytes_per_second <= 0:
            raise ValueError("result_bytes_per_second: must be more than 0, or None for no limit")
        for name in ("uploads_max_mb", "results_max_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be more than 0 (megabytes)")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it. `account` is a hash of the key, never the key."""

    method: str
    path: str
    route: str | None
    status: int | None
    account: str | None
    fault: str | None
    at: float = field(default_factory=time.time)  # when the request arrived


@dataclass(frozen=True)
class UploadPolicy:
    account: str
    model: str
    upload_dir: str
    expires: float
    max_bytes: int


class Simulator:
    """Everything one running simulator knows; the routes read and change it."""

    def __init__(self, config: SimConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.store = Store(
            data_dir / "uploads",
            uploads_max_bytes=int(config.uploads_max_mb * MB),
            result_ttl_seconds=config.result_ttl_seconds,
        )
        self.limits = AccountLimits(enabled=config.limits)
        self.faults = config.faults if config.faults is not None else FaultPlan()
        self.worker = RenderWorker(
            data_dir / "results", config.render_workers, int(config.results_max_mb * MB)
        )
        self.requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self.policies: dict[str, UploadPolicy] = {}
        self.admission = threading.Lock()  # a create call checks limits and adds its task under it
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()

    @property
    def pending_seconds(self) -> float:
        return self.config.task_seconds / 4

    @property
    def running_seconds(self) -> float:
        return self.config.task_seconds - self.pending_seconds

    def sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:40]

    def signature_ok(self, text: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(text), signature)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.requests.append(entry)

    def add_policy(self, signature: str, policy: UploadPolicy) -> None:
        with self._lock:
            # Policies are added in order of expiry (one TTL for all): drop expired ones first.
            while self.policies:
                oldest = next(iter(self.policies))
                if self.policies[oldest].expires >= time.time():
                    break
                del self.policies[oldest]
            self.policies[signature] = policy

    def policy(self, signature: str) -> UploadPolicy | None:
        with self._lock:
            return self.policies.get(signature)
