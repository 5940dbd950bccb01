"""The webhook action: POST the rendered JSON payload, signed, to the integration's URL."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import requests
from django.conf import settings

from automations.actions.base import (
    Action,
    DeliveryResult,
    EventContext,
    is_permanent_status,
    kept,
    stopwatch,
)
from automations.network import NetworkRefused, check_url, destination_session, forget_session
from automations.signing import mlflow_headers, standard_headers, wandb_signature
from teams.models import without_url_parts

USER_AGENT = "Beacon-Webhooks/1"


def encode_body(payload: Any) -> str:
    """The exact bytes that are sent and signed (compact, UTF-8 kept readable)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class WebhookAction(Action):
    kind = "webhook"

    def secrets(self) -> dict[str, str]:
        found: dict[str, str] = {}
        token = self.integration.access_token_secret
        if token is not None:
            found["ACCESS_TOKEN"] = token.value
        payload_secret = self.integration.payload_secret
        if payload_secret is not None:
            found[payload_secret.name] = payload_secret.value
        return found

    def build(
        self,
        config: dict[str, Any],
        variables: dict[str, Any],
        context: EventContext,
        full_event: dict[str, Any],
    ) -> Any:
        from automations.templating import render

        template = config.get("payload")
        if template in (None, "", {}, []):
            return full_event
        return render(template, {**variables, **self.secrets()})

    def test_payload(self, context: EventContext) -> Any:
        return {
            "event_type": "TEST",
            "text": f"Test delivery from Beacon to {self.integration.name}.",
            "url": context.url,
        }

    def headers(self, body: str, webhook_id: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        timestamp = int(time.time())
        secret = self.integration.signing_secret
        headers.update(standard_headers(secret, webhook_id, body, timestamp=timestamp))
        if self.integration.mlflow_signatures:
            headers.update(mlflow_headers(secret, webhook_id, body, timestamp=timestamp))
        token = self.integration.access_token_secret
        if token is not None:
            headers["Authorization"] = f"Bearer {token.value}"
        payload_secret = self.integration.payload_secret
        if payload_secret is not None:
            headers["X-Wandb-Signature"] = wandb_signature(payload_secret.value, body)
        return headers

    def hidden(self, text: str) -> str:
        """An error without the URL's path or query: they may hold a token (Teams, Discord,
        inbox URLs) and errors are shown to every member; the host stays."""
        return without_url_parts(text, self.integration.url)

    def send(self, payload: Any, *, webhook_id: str) -> DeliveryResult:
        result = self._send(payload, webhook_id=webhook_id)
        return replace(result, error=self.hidden(result.error)) if result.error else result

    def _send(self, payload: Any, *, webhook_id: str) -> DeliveryResult:
        result = stopwatch()
        url = self.integration.url
        try:
            body = encode_body(payload)
        except (TypeError, ValueError) as exc:
            return result(ok=False, error=f"The payload is not JSON: {exc}", permanent=True)
        try:
            check_url(url)
        except NetworkRefused as exc:
            return result(ok=False, error=str(exc), permanent=True)
        except OSError as exc:
            return result(ok=False, error=str(exc))
        try:
            # The destination's session of this thread: a burst reuses its connection.
            response = destination_session(url).post(
                url,
                data=body.encode(),
                headers=self.headers(body, webhook_id),
                timeout=(
                    settings.BEACON_WEBHOOK_CONNECT_TIMEOUT,
                    settings.BEACON_WEBHOOK_READ_TIMEOUT,
                ),
                allow_redirects=False,
            )
            text = kept(response.text)
        except NetworkRefused as exc:  # the connection reached a forbidden address
            forget_session(url)
            return result(ok=False, error=str(exc), permanent=True)
        except requests.Timeout as exc:
            forget_session(url)
            return result(ok=False, error=f"Timed out: {exc}")
        except requests.RequestException as exc:
            forget_session(url)
            return result(ok=False, error=f"Could not connect: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return result(ok=True, status=status, response_excerpt=text)
        if 300 <= status < 400:
            where = response.headers.get("Location", "")
            return result(
                ok=False, status=status, response_excerpt=text, permanent=True,
                error=f"Redirects are not followed (HTTP {status} to {where!r}).",
            )
        return result(
            ok=False, status=status, response_excerpt=text,
            error=f"The receiver answered HTTP {status}.",
            permanent=is_permanent_status(status),
        )
