"""The type of the ``client_for`` fixture: a Django test client signed in as a user."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

Clients = Callable[[User | None], Client]
