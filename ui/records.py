"""History records as the browser keeps them: sealed by the server, checked when they come back.

What `gr.BrowserState` returns is plain JSON from the browser (its own secret is published in the
page's config), so a record is trusted only when it carries the server's HMAC over all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

RECORD_VERSION = 1
HISTORY_LIMIT = 50  # records a browser keeps, and the most a restore looks at
# A record's JSON, ASCII-escaped: wan2.7's longest prompt (5,000 characters) and negative prompt
# in Chinese take 33 KB of it; the cap only bounds what a forged record costs to check.
RECORD_MAX_BYTES = 64 * 1024
Record = dict[str, Any]


def _plain(value: Any) -> Any:
    """JSON as a browser gives it back: it has one number type, so 5.0 returns as 5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _canonical(record: Record) -> bytes:
    body = {k: v for k, v in record.items() if k != "sig"}
    return json.dumps(_plain(body), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


class RecordSeal:
    """Seals records with a key that never leaves the server, and opens only sealed ones."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the record key must be at least 16 bytes")
        self._key = key

    def _sig(self, record: Record) -> str:
        return hmac.new(self._key, _canonical(record), hashlib.sha256).hexdigest()

    def seal(self, record: Record) -> Record:
        sealed = {**record, "v": RECORD_VERSION}
        sealed["sig"] = self._sig(sealed)
        return sealed

    def open(self, value: Any) -> Record | None:
        """The record if the server issued it unchanged; None for anything else."""
        if not isinstance(value, dict) or value.get("v") != RECORD_VERSION:
            return None
        sig = value.get("sig")
        if not isinstance(sig, str) or len(sig) != 64:
            return None
        try:
            if len(_canonical(value)) > RECORD_MAX_BYTES:
                return None
            expected = self._sig(value)
        except (TypeError, ValueError):  # not JSON-able: not ours
            return None
        if not hmac.compare_digest(expected, sig):
            return None
        return value if isinstance(value.get("token"), str) else None

    def open_history(self, value: Any) -> list[Record]:
        """The sealed records of a browser's history, at most HISTORY_LIMIT of them."""
        if not isinstance(value, list):
            return []
        opened = (self.open(item) for item in value[:HISTORY_LIMIT])
        return [r for r in opened if r is not None]
