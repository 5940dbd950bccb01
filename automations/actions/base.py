"""The action interface: one class per integration kind, looked up in ``ACTIONS``.

An action turns an automation's settings plus an event's variables into a
payload (:meth:`Action.build`) and delivers it (:meth:`Action.send`). Sending
never raises for delivery problems: it returns a :class:`DeliveryResult` whose
``permanent`` flag tells the caller whether retrying can help.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from teams.models import Integration

# How much of a response an action keeps, unmasked, for the caller to mask and cut to
# ``masking.EXCERPT_LIMIT`` (``masking.masked_excerpt``): masking must come before the cut.
RESPONSE_KEEP = 64 * 1024


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status: int | None = None
    # Raw (up to RESPONSE_KEEP characters, secrets NOT masked): whoever stores or shows it
    # passes it through ``masking.masked_excerpt``.
    response_excerpt: str = ""
    duration_ms: int = 0
    error: str = ""
    permanent: bool = False


@dataclass(frozen=True)
class EventContext:
    """What a notification says about an event, in words (no secrets)."""

    what: str
    filter: str
    where: str
    who: str
    url: str
    automation_name: str = ""
    event_type: str = ""


def kept(text: str) -> str:
    """The part of a response an action hands back (not masked: see ``DeliveryResult``)."""
    return text[:RESPONSE_KEEP]


def stopwatch() -> Callable[..., DeliveryResult]:
    """A ``DeliveryResult`` maker that stamps the milliseconds since it was started."""
    started = time.monotonic()

    def result(**kw: Any) -> DeliveryResult:
        return DeliveryResult(duration_ms=int((time.monotonic() - started) * 1000), **kw)

    return result


def is_permanent_status(status: int) -> bool:
    """4xx other than 408 (timeout) and 429 (rate limited) will not succeed on retry."""
    return 400 <= status < 500 and status not in (408, 429)


class Action:
    """Base class of the actions. Subclasses set ``kind`` and implement the hooks."""

    kind: ClassVar[str]

    def __init__(self, integration: Integration) -> None:
        self.integration = integration

    def secrets(self) -> dict[str, str]:
        """Secret values this action may use, by template variable name.

        Their values are masked wherever a payload or response is stored."""
        return {}

    def build(
        self,
        config: dict[str, Any],
        variables: dict[str, Any],
        context: EventContext,
        full_event: dict[str, Any],
    ) -> Any:
        """The payload to send for one event (secrets resolved, not masked)."""
        raise NotImplementedError

    def send(self, payload: Any, *, webhook_id: str) -> DeliveryResult:
        """Deliver ``payload`` once; never raises for delivery problems."""
        raise NotImplementedError

    def test_payload(self, context: EventContext) -> Any:
        """What ``POST /integrations/{name}/test`` sends when no payload is given."""
        raise NotImplementedError
