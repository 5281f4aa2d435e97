"""Links a visitor types: is the host public (read the way the operating system reads it), and
one guarded fetcher for every server-side download of such a link."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import httpx

from .errors import InvalidInput
from .media import AUDIO_MAX_BYTES, IMAGE_MAX_BYTES, VIDEO_MAX_BYTES

URL_MAX_CHARS = 2048
# The most a download may hold, per media kind, unless the caller names its role's cap (the
# legacy protocol's file-size limits; a wan2.7 picture may be 20 MB).
MEDIA_MAX_BYTES = {"image": IMAGE_MAX_BYTES, "audio": AUDIO_MAX_BYTES, "video": VIDEO_MAX_BYTES}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


# --- addresses -----------------------------------------------------------------------------------

def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, or None for a name.

    IPv4 is read by the C library's inet_aton, as getaddrinfo and every connect() read it:
    2130706433, 127.1, 0x7f000001, 0177.0.0.1 and 0 are all addresses. IPv6 may be in brackets
    and carry a zone id (fe80::1%eth0).
    """
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    text = text.removesuffix(".")
    if not text or any(c.isspace() for c in text):  # inet_aton stops at a space: "1.2.3.4 x"
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for a global unicast address (and an IPv6 one embedding no local IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not is_public_address(inner):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _is_localhost_like(host: str) -> bool:
    name = host.lower().removesuffix(".")
    return name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES)


# --- the page's check (no network) ---------------------------------------------------------------

def check_public_url(url: str, field_name: str) -> None:
    """A URL typed by a visitor must be public http(s): the service downloads it from the internet.

    Runs in the page's handler, so it looks nothing up: it refuses what is local by its spelling
    (every numeric form of a private address, localhost-like and single-label names).
    """
    if len(url) > URL_MAX_CHARS:
        raise InvalidInput(field_name, f"the URL is {len(url)} characters long; at most "
                                       f"{URL_MAX_CHARS} are accepted")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:  # e.g. an unclosed [ in the host
        raise InvalidInput(field_name, "the link is not a valid URL; check it") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput(field_name, "only public http:// or https:// links can be used; "
                                       "upload a local file instead", ("http", "https"))
    if "@" in parts.netloc or "\\" in parts.netloc:
        raise InvalidInput(field_name, "a link with a user name, a password or a backslash "
                                       "before the host cannot be used; remove that part")
    if not host:
        raise InvalidInput(field_name, "the link has no host name")
    ip = literal_address(host) if ":" in host else None
    if ip is None:
        try:  # IDNA folds look-alikes (full-width digits, capitals) to what would be looked up
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            host = ""
        if not _HOST_NAME.match(host.rstrip(".")):
            raise InvalidInput(field_name, f"{parts.hostname} is not a valid host name; check "
                                           "the link")
        ip = literal_address(host)
    if ip is not None:
        local = not is_public_address(ip)
    else:  # a single label ("printer", "metadata") is looked up in the local network's domain
        local = _is_localhost_like(host) or "." not in host.removesuffix(".")
    if local:
        raise InvalidInput(field_name, f"{parts.hostname} is a local or private address that the "
                                       "service cannot reach; use a public link or upload the file")


# --- the guarded fetcher -------------------------------------------------------------------------

class LinkRefused(Exception):
    """The fetcher would not download a link, or stopped: str() is a sentence saying why."""


@dataclass(frozen=True)
class FetchLimits:
    deadline_seconds: float = 10.0  # the whole download, name lookup and redirects included
    read_timeout_seconds: float = 5.0  # the longest silence between two reads
    max_redirects: int = 3  # each hop is checked again as if it were the first link
    slots: int = 4  # downloads at once
    slot_wait_seconds: float = 2.0  # then a link is refused as "busy"


_NEVER = "such links are never downloaded, so use a public link"
# Name lookups block a thread; they get their own few so they never take the server's.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wan-links-resolve")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the operating system gives for host (tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))


class LinkFetcher:
    """Downloads links that resolve only to public addresses, within a byte cap and a deadline.

    It connects to the very address it checked (no second lookup: the URL's host is replaced by
    the IP, the Host header and TLS name stay the original), re-checks every redirect hop, and
    lets at most `limits.slots` downloads run at once. `allow` holds "host:port" entries that
    may be fetched although private, and `verify` the certificates to trust (default: the
    public ones): both for tests only.
    """

    def __init__(self, *, allow: Iterable[str] = (), limits: FetchLimits | None = None,
                 verify: ssl.SSLContext | None = None) -> None:
        self.allow = frozenset(entry.lower() for entry in allow)
        self.limits = limits or FetchLimits()
        self._slots: anyio.Semaphore | None = None
        self._ssl = verify

    async def fetch(self, url: str, kind: str, max_bytes: int | None = None) -> bytes:
        """The body of a 200 answer at url, at most max_bytes (by default MEDIA_MAX_BYTES[kind]),
        or LinkRefused. `kind` ("image", "audio", "video") names the file in a refusal."""
        limits = self.limits
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = anyio.Semaphore(limits.slots)
        slots = self._slots
        try:
            with anyio.fail_after(limits.slot_wait_seconds):
                await slots.acquire()
        except TimeoutError:
            raise LinkRefused("too many links are being downloaded right now; try again in a "
                              "moment") from None
        try:
            with anyio.fail_after(limits.deadline_seconds):  # cancel-safe on Python 3.10 too
                cap = MEDIA_MAX_BYTES[kind] if max_bytes is None else max_bytes
                return await self._follow(url, cap, kind)
        except TimeoutError:
            raise LinkRefused(f"the download did not finish within {limits.deadline_seconds:g} "
                              "s; use a faster link or upload the file") from None
        finally:
            slots.release()

    async def _follow(self, url: str, cap: int, kind: str) -> bytes:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()  # once: loading the CA bundle costs CPU
        timeout = httpx.Timeout(self.limits.read_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, verify=self._ssl, trust_env=False,
                                     limits=httpx.Limits(max_keepalive_connections=0)) as client:
            target = _parse(url)
            for _ in range(self.limits.max_redirects + 1):
                answer = await self._open(client, target)
                try:
                    if answer.is_redirect and "location" in answer.headers:
                        target = _parse(str(target.join(answer.headers["location"])))
                        continue
                    if answer.status_code != 200:
                        raise LinkRefused(f"the link answered HTTP {answer.status_code} instead "
                                          "of the file")
                    return await _read_capped(answer, cap, kind)
                finally:
                    await answer.aclose()
        raise LinkRefused(f"the link redirects more than {self.limits.max_redirects} times")

    async def _open(self, client: httpx.AsyncClient, target: httpx.URL) -> httpx.Response:
        host, port = target.raw_host.decode("ascii"), target.port or _default_port(target)
        spelled = f"[{host}]" if ":" in host else host
        addresses = await self._checked_addresses(host, port, f"{spelled}:{port}" in self.allow)
        headers = {"Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"}
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        failure: Exception | None = None
        for address in addresses:
            request = client.build_request("GET", target.copy_with(host=str(address)),
                                           headers=headers, extensions=extensions)
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError as exc:  # refused, unreachable or a bad certificate
                failure = exc
            except httpx.TimeoutException:
                seconds = self.limits.read_timeout_seconds
                raise LinkRefused(f"{spelled} did not answer within {seconds:g} s") from None
            except httpx.HTTPError as exc:
                name = type(exc).__name__
                raise LinkRefused(f"{spelled} could not be downloaded ({name})") from None
        raise LinkRefused(f"{spelled} could not be reached ({failure or 'no address'}); check "
                          "the link")

    @staticmethod
    async def _checked_addresses(host: str, port: int, allowed: bool) -> list[IPAddress]:
        """host's addresses, looked up once; refused if any is not public (unless allowed)."""
        if not allowed and _is_localhost_like(host):
            raise LinkRefused(f"{host} is a local or private address; {_NEVER}")
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(_RESOLVER, lambda: resolve(host, port))
        except (OSError, UnicodeError):
            raise LinkRefused(f"the host name {host} does not resolve; check the link") from None
        private = next((a for a in addresses if not is_public_address(a)), None)
        if private is not None and not allowed:
            spelled = f"[{host}]" if ":" in host else host
            plain = _plain_literal(host) == private
            where = f"{spelled} is" if plain else f"{spelled} points to {private},"
            raise LinkRefused(f"{where} a local or private address; {_NEVER}")
        return addresses


def _plain_literal(host: str) -> IPAddress | None:
    """host as an address when written the usual way (127.0.0.1, ::1), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _parse(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:  # e.g. octal 0177.0.0.1, which httpx will not read but the OS does
        try:
            ip = literal_address(urlsplit(url).hostname or "")
        except ValueError:
            ip = None
        if ip is not None and not is_public_address(ip):
            raise LinkRefused(f"{urlsplit(url).hostname} is a local or private address; "
                              f"{_NEVER}") from None
        raise LinkRefused("the link is not a valid URL") from None
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise LinkRefused("only http:// and https:// links can be downloaded")
    return target


def _default_port(target: httpx.URL) -> int:
    return 443 if target.scheme == "https" else 80


_NOUNS = {"image": "a picture", "audio": "audio", "video": "a video"}


async def _read_capped(answer: httpx.Response, cap: int, kind: str) -> bytes:
    """The raw body (no decompression: a small gzip cannot become a huge file), at most cap."""
    too_large = LinkRefused(f"the file is over the {cap // (1024 * 1024)} MB limit for "
                            f"{_NOUNS.get(kind, kind)}; use a smaller file")
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    body = bytearray()
    try:
        async for chunk in answer.aiter_raw():
            body += chunk
            if len(body) > cap:
                raise too_large
    except httpx.TimeoutException:
        raise LinkRefused("the server stopped sending the file; use a faster link") from None
    except httpx.HTTPError as exc:
        raise LinkRefused(f"the download broke off ({type(exc).__name__})") from None
    return bytes(body)
