"""Visitors' links go through one guarded fetcher: no spelling of loopback and no redirect reaches
it, drips and huge bodies are cut off, and the page's check refuses literal local spellings."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from client import links
from client.errors import InvalidInput
from client.links import FetchLimits, LinkFetcher, LinkRefused, check_public_url, is_public_address
from client.simulator.server import RunningSimulator, SimConfig, start_simulator
from tests.hardening.loopback import (
    MB,
    Loopback,
    drip,
    endless,
    file_body,
    peak_rss,
    redirect_to,
    serving,
)
from tests.integration.helpers import CREATE, data_uri, payload
from tests.media_factory import image_bytes

PICTURE = image_bytes(480, 360)
KEY = "sk-links-test-0123456789abcdef"
DATA_INSPECTION = "InvalidParameter.DataInspection"
# A test deadline: short, so a drip costs seconds, not the production 10 s.
LIMITS = FetchLimits(deadline_seconds=3.0, read_timeout_seconds=2.0, slots=4,
                     slot_wait_seconds=1.0)
MARGIN_SECONDS = 1.5

LITERAL_LOOPBACK = {
    "decimal integer": "2130706433",
    "short form 127.1": "127.1",
    "hex integer": "0x7f000001",
    "zero": "0",
    "octal": "0177.0.0.1",
    "dotted": "127.0.0.1",
    "IPv6 loopback": "[::1]",
    "IPv4-mapped IPv6": "[::ffff:127.0.0.1]",
    "IPv4-mapped IPv6, hex": "[::ffff:7f00:1]",
    "IPv6 unspecified": "[::]",
    "localhost with a trailing dot": "localhost.",
}
T = TypeVar("T")
EVIL_NAME = "evil.test"  # the test's resolver says 127.0.0.1


def hosts_name() -> str:
    """A name /etc/hosts maps to 127.x other than localhost (else localhost: it is there too)."""
    for line in Path("/etc/hosts").read_text().splitlines():
        fields = line.split("#")[0].split()
        if fields and fields[0].startswith("127."):
            others = [name for name in fields[1:] if not name.startswith("localhost")]
            if others:
                return others[0]
    return "localhost"


ALL_LOOPBACK = {**LITERAL_LOOPBACK, "name from /etc/hosts": hosts_name(),
                "name resolving to 127.0.0.1": EVIL_NAME}


@pytest.fixture
def evil_resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The fetcher's resolver, with names the test points anywhere (others resolve for real)."""
    real = links.resolve
    table: dict[str, list[str]] = {EVIL_NAME: ["127.0.0.1"]}

    def resolve(host: str, port: int) -> list[links.IPAddress]:
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        return real(host, port)

    monkeypatch.setattr(links, "resolve", resolve)
    return table


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[Loopback, Loopback]]:
    """The same picture on 127.0.0.1:P and [::1]:P, counting requests."""
    for _ in range(20):
        with ExitStack() as stack:
            v4 = stack.enter_context(serving(file_body(PICTURE, "image/jpeg")))
            try:
                v6 = stack.enter_context(serving(file_body(PICTURE, "image/jpeg"), "::1", v4.port))
            except OSError:
                continue  # the port is taken on ::1: try another
            yield v4, v6
            return
    pytest.fail("no port free on both 127.0.0.1 and ::1")


@pytest.fixture
def make_sim() -> Iterator:
    started: list[RunningSimulator] = []

    def make(**config: object) -> RunningSimulator:
        config = {"task_seconds": 0.3, "limits": False, "link_limits": LIMITS, **config}
        started.append(start_simulator(SimConfig(**config)))  # type: ignore[arg-type]
        return started[-1]

    yield make
    for sim in started:
        sim.stop()


# One client for every call: 40 threads each building its own TLS context would spend seconds of
# CPU before the first request even left.
HTTP = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=64))


def create(sim: RunningSimulator, img_url: str, **fields: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
    body = payload("wan2.2-i2v-flash", img_url, resolution="480P", **fields)
    return HTTP.post(sim.base_url + CREATE, json=body, headers=headers)


def refusal(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == DATA_INSPECTION, body
    return body["message"]


# --- every spelling of loopback, through the real simulator ------------------------------------


def test_no_spelling_of_loopback_reaches_a_loopback_server(loopback, make_sim, evil_resolver):
    v4, v6 = loopback
    sim = make_sim()
    messages = {name: refusal(create(sim, f"http://{host}:{v4.port}/cat.jpg"))
                for name, host in ALL_LOOPBACK.items()}
    for name, message in messages.items():
        assert "input.img_url" in message and "local or private address" in message, name
    assert "2130706433 points to 127.0.0.1" in messages["decimal integer"]
    assert f"{EVIL_NAME} points to 127.0.0.1" in messages["name resolving to 127.0.0.1"]
    reached = v4.hits + v6.hits
    assert reached == 0
    print(f"\nloopback spellings through the simulator: tried {len(messages)}, refused "
          f"{len(messages)}, requests that reached loopback {reached}")


def test_the_counting_servers_do_count_an_allowed_fetch(loopback, make_sim):
    v4, v6 = loopback
    before = v4.hits + v6.hits
    sim = make_sim(link_allow=(v4.where, v6.where))
    for server in (v4, v6):
        answer = create(sim, f"http://{server.where}/cat.jpg")
        assert answer.status_code == 200, answer.text
    assert v4.hits + v6.hits == before + 2
    path, headers = v6.requests[-1]
    assert path == "/cat.jpg" and headers["Host"] == v6.where
    leaked = [h for _, h in v4.requests + v6.requests
              if "Authorization" in h or any(KEY in value for value in h.values())]
    assert leaked == []  # the visitor's key never goes to the link's server


def test_a_redirect_to_loopback_is_refused_before_it_is_followed(make_sim):
    with serving(file_body(PICTURE, "image/jpeg")) as target:
        with serving(redirect_to(f"http://{target.where}/cat.jpg")) as hop:
            sim = make_sim(link_allow=(hop.where,))
            message = refusal(create(sim, f"http://{hop.where}/start"))
            assert hop.hits == 1 and target.hits == 0
            assert f"{target.where.split(':')[0]} is a local or private address" in message
            allowed = make_sim(link_allow=(hop.where, target.where))
            assert create(allowed, f"http://{hop.where}/start").status_code == 200
            assert target.hits == 1  # the same hop, once allowed, is followed
    print("\nredirect to a loopback server not allowed: requests that reached it 0")


def test_a_redirect_loop_stops_after_three_hops(make_sim):
    with serving(redirect_to("/again")) as loop:
        sim = make_sim(link_allow=(loop.where,))
        message = refusal(create(sim, f"http://{loop.where}/start"))
    assert "redirects more than 3 times" in message and loop.hits == 4


def test_metadata_and_mixed_answers_are_refused_before_connecting(make_sim, evil_resolver):
    evil_resolver["metadata.test"] = ["169.254.169.254"]
    evil_resolver["mixed.test"] = ["93.184.216.34", "10.0.0.7"]  # ANY private address refuses
    sim = make_sim()
    assert "local or private" in refusal(create(sim, "http://169.254.169.254/latest/meta-data/"))
    assert "points to 169.254.169.254" in refusal(create(sim, "http://metadata.test/a.jpg"))
    assert "points to 10.0.0.7" in refusal(create(sim, "http://mixed.test/a.jpg"))


def test_an_unresolvable_name_and_a_404_say_so(make_sim):
    with serving(file_body(b"", "text/plain")) as server:
        sim = make_sim(link_allow=(server.where,))
        assert "does not resolve" in refusal(create(sim, "http://no-such-host.invalid/a.jpg"))
    with serving(lambda h: (h.send_response(404), h.send_header("Content-Length", "0"),
                            h.end_headers())) as gone:
        sim = make_sim(link_allow=(gone.where,))
        assert "answered HTTP 404" in refusal(create(sim, f"http://{gone.where}/a.jpg"))


def test_malformed_links_are_refused_not_crashed(make_sim):
    odd = ["http://", "http://[::1", "http://a b/", "http://%00/", "http://a:99999/",
           "http:///x", "http://\x00/", "http://a..b/", "http://[fe80::1%25lo]:1/",
           "http://127.0.0.1:80@evil.invalid/", "http://ｌｏｃａｌｈｏｓｔ/", "https://[::]:0/"]
    sim = make_sim()
    statuses = [create(sim, url).status_code for url in odd]
    assert statuses == [400] * len(odd)
    print(f"\nmalformed links through the simulator: tried {len(odd)}, crashes 0")


# --- the page's check: literal spellings, no lookup --------------------------------------------


@pytest.mark.parametrize("host", [*LITERAL_LOOPBACK.values(), "localhost", "ip6-localhost",
                                  "10.0.0.5", "0xa000005", "169.254.169.254", "[fd00::1]",
                                  "[fe80::1%25eth0]", "[::ffff:10.0.0.1]", "[2002:7f00:1::]",
                                  "[64:ff9b::7f00:1]", "224.0.0.1", "printer", "db.internal",
                                  "１２７.０.０.１", "LOCALHOST"])
def test_page_check_refuses_every_literal_local_spelling(host):
    with pytest.raises(InvalidInput) as caught:
        check_public_url(f"http://{host}:8080/a.png", "img_url")
    assert caught.value.field == "img_url"
    assert "local or private address" in caught.value.rule


@pytest.mark.parametrize("url, words", [
    ("http://user@example.com/a.png", "user name"),
    ("http://example.com\\@127.0.0.1/a.png", "backslash"),
    ("http://exa mple.com/a.png", "not a valid host name"),
    ("http://[::1/a.png", "not a valid URL"),
    ("ftp://example.com/a.png", "http"),
])
def test_page_check_refuses_ambiguous_links(url, words):
    with pytest.raises(InvalidInput) as caught:
        check_public_url(url, "img_url")
    assert words in str(caught.value)


@pytest.mark.parametrize("url", ["https://example.com/a.png", "http://8.8.8.8/a.png",
                                 "https://[2606:4700:4700::1111]/a.png", "https://bücher.de/a.png",
                                 "https://cdn.example.com:8443/a.png?x=1", "http://1.1.1.1./a"])
def test_page_check_passes_public_links(url):
    assert check_public_url(url, "img_url") is None


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True), ("2002:808:808::1", True),
    ("127.0.0.1", False), ("0.0.0.0", False), ("10.1.2.3", False), ("100.64.0.1", False),
    ("169.254.169.254", False), ("224.0.0.1", False), ("255.255.255.255", False),
    ("::1", False), ("::", False), ("::ffff:127.0.0.1", False), ("::127.0.0.1", False),
    ("2002:7f00:1::", False), ("64:ff9b::a00:1", False), ("fe80::1", False), ("fd00::1", False),
    ("fec0::1", False), ("ff02::1", False), ("2001::1", False),
])
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- TLS: connect to the checked address, check the certificate against the name ---------------


def _certificate(name: str, tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize("served_name, ok", [("pictures.test", True), ("other.test", False)])
def test_https_is_checked_against_the_name_not_the_address(tmp_path, evil_resolver,
                                                           served_name, ok):
    evil_resolver["pictures.test"] = ["127.0.0.1"]
    cert, key = _certificate(served_name, tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    with serving(file_body(PICTURE, "image/jpeg"), tls=server_tls) as server:
        fetcher = LinkFetcher(allow=[f"pictures.test:{server.port}"], limits=LIMITS,
                              verify=ssl.create_default_context(cafile=str(cert)))
        url = f"https://pictures.test:{server.port}/cat.jpg"
        if ok:
            assert asyncio.run(fetcher.fetch(url, "image")) == PICTURE
            assert server.requests[-1][1]["Host"] == f"pictures.test:{server.port}"
        else:
            with pytest.raises(LinkRefused, match="could not be"):
                asyncio.run(fetcher.fetch(url, "image"))
            assert server.hits == 0  # the handshake failed: no request was sent


# --- slow and huge links ------------------------------------------------------------------------


def test_a_drip_link_is_cut_off_at_the_deadline(make_sim):
    with serving(drip(1.0)) as slow:
        sim = make_sim(link_allow=(slow.where,))
        started = time.monotonic()
        message = refusal(create(sim, f"http://{slow.where}/cat.jpg"))
        took = time.monotonic() - started
    assert f"did not finish within {LIMITS.deadline_seconds:g} s" in message
    assert LIMITS.deadline_seconds - 0.5 <= took <= LIMITS.deadline_seconds + MARGIN_SECONDS
    print(f"\ndrip link (1 byte/s): refused after {took:.2f} s "
          f"(deadline {LIMITS.deadline_seconds:g} s)")


def test_a_stalled_link_is_cut_off_at_the_read_timeout(make_sim):
    with serving(drip(60.0)) as stalled:  # one byte, then silence
        sim = make_sim(link_allow=(stalled.where,))
        started = time.monotonic()
        message = refusal(create(sim, f"http://{stalled.where}/cat.jpg"))
        took = time.monotonic() - started
    assert "stopped sending" in message
    assert took <= LIMITS.read_timeout_seconds + MARGIN_SECONDS < LIMITS.deadline_seconds + 1


def test_huge_links_stop_at_the_cap_and_memory_stays_flat(make_sim):
    with serving(endless()) as chunked, serving(endless(declare_length=True)) as declared:
        sim = make_sim(link_allow=(chunked.where, declared.where))
        urls = [f"http://{chunked.where}/a.jpg", f"http://{chunked.where}/b.jpg",
                f"http://{declared.where}/c.jpg"]
        started = time.monotonic()
        with peak_rss() as rss, ThreadPoolExecutor(len(urls)) as pool:
            answers = list(pool.map(lambda url: create(sim, url), urls))
        took = time.monotonic() - started
        sent = chunked.sent + declared.sent
    grew_mb = (rss[1] - rss[0]) / MB
    for answer in answers:
        assert "over the 10 MB limit for a picture" in refusal(answer)
    assert took <= LIMITS.deadline_seconds + MARGIN_SECONDS
    assert grew_mb < 50
    assert sent < 3 * 40 * MB  # the servers were cut off, not drained: 900 MB were on offer
    print(f"\nhuge links: {len(urls)} x 300 MB at once refused in {took:.2f} s, "
          f"RSS +{grew_mb:.1f} MB, {sent / MB:.0f} MB sent by the servers")


def timed(call: Callable[..., T], *args: object, **kwargs: object) -> tuple[T, float]:
    started = time.monotonic()
    return call(*args, **kwargs), time.monotonic() - started


def test_many_drips_at_once_do_not_delay_an_honest_create(make_sim):
    drips = 40
    with serving(drip(1.0)) as slow:
        sim = make_sim(link_allow=(slow.where,))
        with ThreadPoolExecutor(drips) as pool:
            started = time.monotonic()
            futures = [pool.submit(timed, create, sim, f"http://{slow.where}/x.jpg")
                       for _ in range(drips)]
            while slow.hits < LIMITS.slots and time.monotonic() - started < 5:
                time.sleep(0.02)
            honest, honest_took = timed(create, sim, data_uri())
            assert honest.status_code == 200, honest.text
            task_id = honest.json()["output"]["task_id"]
            status, status_took = timed(HTTP.get, f"{sim.base_url}/tasks/{task_id}",
                                        headers={"Authorization": f"Bearer {KEY}"})
            results = [f.result() for f in futures]
    messages = [refusal(answer) for answer, _ in results]
    slowest = max(took for _, took in results)
    cut = sum("did not finish" in m for m in messages)
    busy = sum("too many links" in m for m in messages)
    assert status.status_code == 200
    assert honest_took < 2.0 and status_took < 2.0
    assert cut == LIMITS.slots and busy == drips - LIMITS.slots
    assert slowest <= LIMITS.slot_wait_seconds + LIMITS.deadline_seconds + MARGIN_SECONDS
    assert slow.hits == LIMITS.slots  # the busy ones never connected
    print(f"\n{drips} drip links at once: cut at the deadline {cut}, refused busy {busy}, "
          f"slowest answer {slowest:.2f} s; honest create {honest_took * 1000:.0f} ms, "
          f"status query {status_took * 1000:.0f} ms")
