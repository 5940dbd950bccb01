"""Fixtures of the inbox tests."""

from __future__ import annotations

from typing import Any

import pytest

from inbox.models import Inbox
from teams.models import Team


@pytest.fixture
def inbox(team: Team, admin: Any) -> Inbox:
    return Inbox.objects.create(team=team, name="try-deploy", created_by=admin)
