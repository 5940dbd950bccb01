from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import override_settings

from automations import network
from automations.network import NetworkRefused, check_url


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
