"""Fixtures of the automation tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest


@pytest.fixture
def public_dns() -> Iterator[Any]:
    """Every host name resolves to one public address (the DNS seam, autospecced)."""
    with mock.patch("automations.network.resolve", autospec=True) as resolve:
        resolve.return_value = [ipaddress.ip_address("93.184.216.34")]
        yield resolve


