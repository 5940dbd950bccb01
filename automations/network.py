"""The private-network guard: deliveries reach public addresses only.

A webhook or Slack URL whose host resolves to a loopback, private, link-local,
multicast, reserved or unspecified address is refused, unless the address lies
in one of ``settings.BEACON_ALLOWED_PRIVATE_NETWORKS`` (CIDRs). Every address
the host resolves to must pass, so a name cannot smuggle one private address
among public ones.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class NetworkRefused(Exception):
    """The destination is not allowed; retrying cannot help (a permanent error)."""


def allowed_networks() -> list[IPNetwork]:
    nets: list[IPNetwork] = []
    for cidr in settings.BEACON_ALLOWED_PRIVATE_NETWORKS:
        cidr = str(cidr).strip()
        if cidr:
            nets.append(ipaddress.ip_network(cidr, strict=False))
    return nets


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
        raise NetworkRefused(f"Only http(s) URLs with a host can be called, not {url!r}.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise NetworkRefused(f"The URL's port is not valid: {exc}.") from exc
    allowed = allowed_networks()
    for address in resolve(parts.hostname, port):
        if is_public(address) or any(address in net for net in allowed):
            continue
        raise NetworkRefused(
            f"Refused to call {parts.hostname} ({address}): it is not a public address. "
            "Add its network to BEACON_ALLOWED_PRIVATE_NETWORKS to allow it."
        )


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A urllib handler that never follows a redirect: only the checked URL is called.

    Without it a public host could answer ``302 Location: http://10.0.0.1/`` and
    urllib would fetch the private address the guard refused. The 30x then
    surfaces as an ``HTTPError`` carrying the redirect's status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
