"""The private-network guard: deliveries reach public addresses only.

A webhook or Slack URL whose host resolves to a loopback, private, link-local,
multicast, reserved or unspecified address is refused, unless the address lies
in one of ``settings.BEACON_ALLOWED_PRIVATE_NETWORKS`` (CIDRs). Every address
the host resolves to must pass, so a name cannot smuggle one private address
among public ones.

Checking the name before the request is not enough: the HTTP client resolves it
again when it connects, and a rebinding name (zero TTL) can answer a public
address to the check and a private one to the client. So the clients built here
(:func:`guarded_session` for requests, :func:`guarded_opener` for urllib) also
check the address of the socket they actually connected, before a byte of the
request is sent. They connect directly: proxies from the environment are not
used, since behind a proxy the guard could not see the real destination.

Their connections also have a total deadline (:class:`Deadlines`): connect + read
timeout after connecting, the socket is shut down. Timeouts of the clients bound
each read, so a receiver trickling a byte now and then could otherwise hold a
send, and its delivery thread, past the claim that covers it.
"""

from __future__ import annotations

import functools
import heapq
import http.client
import ipaddress
import os
import socket
import threading
import time
import urllib.request
import weakref
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class NetworkRefused(Exception):
    """The destination is not allowed; retrying cannot help (a permanent error).

    ``address`` is the refused address (None when the URL itself was refused) and
    ``rebound`` whether it was the connection, not the check, that reached it; callers
    whose URL is a secret word their own message from them (the message names the host)."""

    def __init__(self, message: str, *, address: object = None, rebound: bool = False) -> None:
        super().__init__(message)
        self.address = address
        self.rebound = rebound


def allowed_networks() -> list[IPNetwork]:
    """``BEACON_ALLOWED_PRIVATE_NETWORKS`` parsed (once per distinct setting: every
    send and every new connection asks)."""
    return list(parse_networks(tuple(str(c).strip() for c in
                                     settings.BEACON_ALLOWED_PRIVATE_NETWORKS)))


@functools.lru_cache(maxsize=16)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs if cidr)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"Cannot resolve host {host!r}: {exc}") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_url(url: str) -> None:
    """Raise ``NetworkRefused`` unless every address of the URL's host may be reached.

    Raises ``OSError`` when the host does not resolve (a transient failure)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not the URL itself: it may hold a token.
        shown = f"{parts.scheme}:" if parts.scheme else "a URL without a scheme"
        raise NetworkRefused(f"Only http(s) URLs with a host can be called, not {shown}.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise NetworkRefused(f"The URL's port is not valid: {exc}.") from exc
    allowed = allowed_networks()
    for address in resolve(parts.hostname, port):
        if not is_allowed(address, allowed):
            raise NetworkRefused(
                f"Refused to call {parts.hostname} ({address}): it is not a public address. "
                "Add its network to BEACON_ALLOWED_PRIVATE_NETWORKS to allow it.",
                address=address,
            )


def is_allowed(address: IPAddress, allowed: list[IPNetwork]) -> bool:
    return is_public(address) or any(address in net for net in allowed)


def check_peer(host: str, sock: socket.socket) -> None:
    """Raise ``NetworkRefused`` unless the socket is connected to an allowed address.

    The caller closes the socket and sends nothing when this raises."""
    peer = str(sock.getpeername()[0]).split("%", 1)[0]
    address = ipaddress.ip_address(peer)
    if not is_allowed(address, allowed_networks()):
        raise NetworkRefused(
            f"Refused to call {host}: the connection went to {address}, which is not a "
            "public address (the name resolved differently when connecting than when it "
            "was checked). Add its network to BEACON_ALLOWED_PRIVATE_NETWORKS to allow it.",
            address=address, rebound=True,
        )


def checked_socket(host: str, sock: socket.socket) -> socket.socket:
    """``sock`` if its peer is allowed; otherwise it is closed and ``NetworkRefused`` raised."""
    try:
        check_peer(host, sock)
    except BaseException:
        sock.close()
        raise
    return sock


# --- total deadline ------------------------------------------------------------------


class Deadlines:
    """One daemon thread that shuts down sockets still open past their deadline;
    a blocked read then returns and the client reports a connection error.

    Watching a socket again moves its deadline (a kept-alive connection gets a
    new one for each request sent on it): only its latest deadline counts."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref[socket.socket]]] = []
        self._latest: weakref.WeakKeyDictionary[socket.socket, float] = (
            weakref.WeakKeyDictionary()
        )
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            self._latest[sock] = deadline
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (deadline, id(sock), weakref.ref(sock)))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="beacon-socket-deadlines")
                self._thread.start()
            # Wake the thread only when it now has an earlier deadline to keep: with one
            # timeout for all, each request's deadline is later than the ones waiting,
            # and a burst on a kept-alive connection costs the thread no wake-up each.
            if earliest is None or deadline < earliest:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, ref = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                sock = ref()
                if sock is None or self._latest.get(sock) != deadline:
                    continue  # gone, or watched again since: a later deadline counts
            if sock.fileno() != -1:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # closed meanwhile


DEADLINES = Deadlines()


def send_deadline() -> float:
    """Seconds a connection may stay open: the connect and read timeouts together."""
    return float(settings.BEACON_WEBHOOK_CONNECT_TIMEOUT + settings.BEACON_WEBHOOK_READ_TIMEOUT)


def watched(sock: socket.socket) -> socket.socket:
    DEADLINES.watch(sock, send_deadline())
    return sock


# --- requests (webhooks) ----------------------------------------------------------------


class GuardedHTTPConnection(HTTPConnection):
    """urllib3's connection, checking the peer address right after the TCP connect."""

    def _new_conn(self) -> socket.socket:
        return checked_socket(self.host, super()._new_conn())

    def connect(self) -> None:
        super().connect()
        watched(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        # A kept-alive connection's deadline starts again with each request.
        if self.sock is not None:
            watched(self.sock)
        super().request(*args, **kwargs)


class GuardedHTTPSConnection(HTTPSConnection):
    """The TLS variant: the peer is checked before the handshake; the certificate
    and SNI still use the URL's hostname."""

    def _new_conn(self) -> socket.socket:
        return checked_socket(self.host, super()._new_conn())

    def connect(self) -> None:
        super().connect()
        watched(self.sock)  # the TLS socket (wrapping detaches the plain one)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            watched(self.sock)
        super().request(*args, **kwargs)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connection pools check every connection's peer."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def guarded_session() -> requests.Session:
    """A requests session that connects directly and only to allowed addresses.

    The environment is not trusted for proxies or ``.netrc`` credentials (a user's
    URL must not receive them); a CA bundle named by ``REQUESTS_CA_BUNDLE`` or
    ``CURL_CA_BUNDLE`` is still used for verification."""
    session = requests.Session()
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
        "CURL_CA_BUNDLE"
    ) or True
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


SESSIONS_PER_THREAD = 32
_sessions = threading.local()


def destination_session(url: str) -> requests.Session:
    """This thread's guarded session for the URL's scheme, host and port, kept between
    sends so that a burst to one receiver reuses its connection (no TCP or TLS set-up
    per delivery). Each new connection's peer is still checked before a byte is sent;
    a reused one is the connection that was checked. Each thread keeps sessions for
    its ``SESSIONS_PER_THREAD`` most recent destinations (the oldest is closed)."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port)
    cache: dict[tuple[Any, ...], requests.Session] | None = getattr(_sessions, "cache", None)
    if cache is None:
        cache = _sessions.cache = {}
    session = cache.pop(key, None)
    if session is None:
        session = guarded_session()
        while len(cache) >= SESSIONS_PER_THREAD:
            cache.pop(next(iter(cache))).close()
    cache[key] = session  # most recently used last
    return session


def forget_session(url: str) -> None:
    """Close this thread's session for the URL's destination (after a failed send: the
    next one starts on a fresh connection)."""
    parts = urlsplit(url)
    cache = getattr(_sessions, "cache", None) or {}
    session = cache.pop((parts.scheme, parts.hostname, parts.port), None)
    if session is not None:
        session.close()


# --- urllib (Slack incoming webhooks) ---------------------------------------------------


class PeerCheckedHTTPConnection(http.client.HTTPConnection):
    """http.client's connection, checking the peer address right after connecting."""

    def connect(self) -> None:
        super().connect()
        try:
            check_peer(self.host, self.sock)
        except BaseException:
            self.close()
            raise
        if not isinstance(self, http.client.HTTPSConnection):
            watched(self.sock)


class PeerCheckedHTTPSConnection(http.client.HTTPSConnection, PeerCheckedHTTPConnection):
    """``HTTPSConnection.connect`` calls ``super().connect()`` (the TCP connect, here
    checked) before wrapping the socket, so the peer is refused before the handshake;
    the certificate and SNI still use the URL's hostname."""

    def connect(self) -> None:
        super().connect()
        watched(self.sock)  # the TLS socket (wrapping detaches the plain one)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            watched(self.sock)
        super().request(*args, **kwargs)


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A urllib handler that never follows a redirect: only the checked URL is called.

    Without it a public host could answer ``302 Location: http://10.0.0.1/`` and
    urllib would fetch the private address the guard refused. The 30x then
    surfaces as an ``HTTPError`` carrying the redirect's status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class PeerCheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(PeerCheckedHTTPConnection, req)


class PeerCheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(PeerCheckedHTTPSConnection, req, context=self._context)


def guarded_opener(context: Any = None) -> urllib.request.OpenerDirector:
    """A urllib opener that follows no redirect, uses no proxy and connects only to
    allowed addresses (``context`` is the TLS context for https)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        RefuseRedirects(),
        PeerCheckedHTTPHandler(),
        PeerCheckedHTTPSHandler(context=context),
    )
