"""django-q2 entry points. Tasks take primary keys and reload state."""

from __future__ import annotations
