from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings

from automations import network
from automations.network import (
    NetworkRefused,
    check_peer,
    check_url,
    guarded_opener,
    guarded_session,
)
from tests.support.receiver import Receiver


def fake_getaddrinfo(*addresses: str) -> Any:
    def getaddrinfo(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return getaddrinfo


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254", "0.0.0.0",
     "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1"],
)
@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_private_addresses_are_refused(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setattr(network.socket, "getaddrinfo", fake_getaddrinfo(address))

    with pytest.raises(NetworkRefused, match="not a public address"):
        check_url("https://hooks.example.com/x")


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    both = fake_getaddrinfo("93.184.216.34", "10.0.0.1")
    monkeypatch.setattr(network.socket, "getaddrinfo", both)

    with pytest.raises(NetworkRefused):
        check_url("https://hooks.example.com/x")


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_public_addresses_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network.socket, "getaddrinfo", fake_getaddrinfo("93.184.216.34"))

    check_url("https://hooks.example.com/x")


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8", "10.20.0.0/16"])
def test_allowed_private_networks_pass_and_others_do_not() -> None:
    check_url("http://127.0.0.1:9/hook")
    check_url("http://10.20.3.4/hook")
    with pytest.raises(NetworkRefused):
        check_url("http://10.21.3.4/hook")


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_loopback_literal_is_refused_without_a_lookup() -> None:
    with pytest.raises(NetworkRefused, match="BEACON_ALLOWED_PRIVATE_NETWORKS"):
        check_url("http://127.0.0.1:8000/hook")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///x",
                                 "http://example.com:99999/"])
def test_malformed_or_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(NetworkRefused):
        check_url(url)


def test_unresolvable_hosts_are_a_transient_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: Any, **kw: Any) -> Any:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(network.socket, "getaddrinfo", fail)
    with pytest.raises(OSError, match="Cannot resolve"):
        check_url("https://nowhere.invalid/x")


# --- the connected peer (DNS rebinding) -------------------------------------------------


class Rebinding:
    """``getaddrinfo`` of a zero-TTL name: a public address first, loopback afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        self.calls += 1
        address = "93.184.216.34" if self.calls == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_requests_session_refuses_a_name_rebound_to_loopback(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    rebinding = Rebinding()
    monkeypatch.setattr(network.socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{receiver.port}/hook"
    check_url(url)

    with guarded_session() as session, pytest.raises(NetworkRefused,
                                                     match="connection went to 127.0.0.1"):
        session.post(url, data=b"{}", timeout=5, allow_redirects=False)

    assert rebinding.calls == 2 and receiver.received() == []


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_urllib_opener_refuses_a_name_rebound_to_loopback(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    rebinding = Rebinding()
    monkeypatch.setattr(network.socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{receiver.port}/hook"
    check_url(url)

    with pytest.raises(NetworkRefused, match="connection went to 127.0.0.1"):
        guarded_opener().open(urllib.request.Request(url, data=b"{}"), timeout=5)

    assert rebinding.calls == 2 and receiver.received() == []


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])
def test_guarded_clients_reach_an_allowed_peer(receiver: Receiver) -> None:
    with guarded_session() as session:
        assert session.post(receiver.url("/a"), data=b"{}", timeout=5).status_code == 200
    with guarded_opener().open(urllib.request.Request(receiver.url("/b"), data=b"{}"),
                               timeout=5) as response:
        assert response.status == 200

    assert [r.path for r in receiver.received()] == ["/a", "/b"]


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [(("93.184.216.34", 443), True), (("::1", 443, 0, 0), False),
     (("fe80::1%eth0", 443, 0, 2), False), (("::ffff:10.0.0.1", 443, 0, 0), False),
     (("2606:2800:220:1::1", 443, 0, 0), True)],
)
@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=[])
def test_check_peer_applies_the_same_rules(peer: tuple[Any, ...], allowed: bool) -> None:
    sock = mock.create_autospec(socket.socket, instance=True)
    sock.getpeername.return_value = peer

    if allowed:
        check_peer("hooks.example.com", sock)
    else:
        with pytest.raises(NetworkRefused, match="hooks.example.com"):
            check_peer("hooks.example.com", sock)


class Trickler:
    """A loopback HTTP server that answers 200 and then sends its body a byte at a time,
    fast enough that no single read times out."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    for _ in range(1000):
                        if self.stop.wait(0.2):
                            break
                        conn.sendall(b"x")
                except OSError:
                    continue  # the client gave up

    def __enter__(self) -> Trickler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.close()


@override_settings(BEACON_ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"],
                   BEACON_WEBHOOK_CONNECT_TIMEOUT=0.5, BEACON_WEBHOOK_READ_TIMEOUT=1.0)
def test_a_receiver_trickling_bytes_is_cut_off_at_the_total_deadline(db: Any) -> None:
    from automations.actions.webhook import WebhookAction
    from teams.models import Team
    from tests.support.factories import make_webhook

    with Trickler() as trickler:
        hook = make_webhook(Team.objects.create(slug="t", name="t"), trickler.url)
        started = time.monotonic()
        result = WebhookAction(hook).send({"a": 1}, webhook_id="msg_1")
        webhook_took = time.monotonic() - started

        started = time.monotonic()
        with pytest.raises((OSError, http.client.HTTPException)):
            guarded_opener().open(trickler.url, timeout=1.0).read()
        urllib_took = time.monotonic() - started

    assert not result.ok and not result.permanent, result
    # 1.5 s deadline (0.5 + 1.0); the whole body would have taken 200 s.
    assert webhook_took < 5 and urllib_took < 5, (webhook_took, urllib_took)
