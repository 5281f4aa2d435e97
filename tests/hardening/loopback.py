"""Loopback HTTP servers for the link tests: each counts the requests it gets and answers with a
picture, a redirect, a drip or an endless body."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Respond = Callable[["Handler"], None]
CHUNK = 64 * 1024
MB = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Loopback

    def do_GET(self) -> None:
        self.server.record(self.path, dict(self.headers))
        try:
            self.server.respond(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the fetcher hung up: that is what these servers are for
        self.close_connection = True

    def log_message(self, *_: object) -> None:
        pass


class Loopback(ThreadingHTTPServer):
    """A server on a loopback address that records every request it receives."""

    daemon_threads = True

    def __init__(self, respond: Respond, host: str = "127.0.0.1", port: int = 0) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.respond = respond
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sent = 0  # body bytes written, summed over requests
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        super().__init__((host, port), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def where(self) -> str:
        """host:port as a URL spells it (and as SimConfig.link_allow lists it)."""
        host = self.server_address[0]
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))

    def wrote(self, n: int) -> None:
        with self._lock:
            self.sent += n


@contextmanager
def serving(respond: Respond, host: str = "127.0.0.1", port: int = 0,
            tls: ssl.SSLContext | None = None) -> Iterator[Loopback]:
    server = Loopback(respond, host, port)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def file_body(data: bytes, content_type: str) -> Respond:
    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.server.wrote(len(data))
    return respond


def redirect_to(location: str) -> Respond:
    def respond(h: Handler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return respond


def drip(interval: float = 1.0) -> Respond:
    """A 1 MB picture, promised, that arrives one byte per interval (forever)."""
    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(MB))
        h.end_headers()
        h.wfile.flush()
        while not h.server.stopping.is_set():
            h.wfile.write(b"\xff")
            h.wfile.flush()
            h.server.wrote(1)
            h.server.stopping.wait(interval)
    return respond


def endless(total: int = 300 * MB, declare_length: bool = False) -> Respond:
    """A body of `total` bytes made on the fly (chunked, or with an honest Content-Length)."""
    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        if declare_length:
            h.send_header("Content-Length", str(total))
        else:
            h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        block = bytes(CHUNK)
        framed = block if declare_length else b"%x\r\n%s\r\n" % (CHUNK, block)
        for _ in range(total // CHUNK):
            if h.server.stopping.is_set():
                return
            h.wfile.write(framed)
            h.server.wrote(CHUNK)
        if not declare_length:
            h.wfile.write(b"0\r\n\r\n")
    return respond


def rss_bytes() -> int:
    """This process's resident memory now (from /proc, no psutil)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_rss(every: float = 0.01) -> Iterator[list[int]]:
    """Samples RSS in a thread while the block runs; yields [baseline, peak] (filled at exit)."""
    figures = [rss_bytes(), 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            figures[1] = max(figures[1], rss_bytes())
            time.sleep(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        done.set()
        thread.join()
        figures[1] = max(figures[1], rss_bytes())
