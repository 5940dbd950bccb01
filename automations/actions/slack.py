"""The Slack action: a Block Kit message through an incoming webhook or a bot token.

Slack reads ``&``, ``<`` and ``>`` as markup in message text (``<!channel>``,
``<@U123>``, ``<https://evil|click>``). Every value substituted into a title or a
message, and every event detail Beacon adds (run names, filters, who, where), is
escaped (:func:`escape`); only the text the admin wrote in the template stays as
written, so an admin may still write ``<!here>`` on purpose. Text objects are
``verbatim``: Slack does not turn a bare URL or channel name inside a value into a
link (explicit ``<url|text>`` links the admin writes still work).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient, WebhookResponse

from automations.actions.base import (
    Action,
    DeliveryResult,
    EventContext,
    is_permanent_status,
    kept,
    stopwatch,
)
from automations.masking import masked_excerpt
from automations.network import NetworkRefused, check_url, guarded_opener

SEVERITIES = {
    "INFO": ":information_source: INFO",
    "WARN": ":warning: WARN",
    "ERROR": ":rotating_light: ERROR",
}
# Slack API errors that no retry can fix.
PERMANENT_ERRORS = {
    "channel_not_found", "not_in_channel", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "is_archived", "no_permission", "missing_scope", "invalid_blocks",
    "no_service", "no_team", "team_disabled", "invalid_token", "action_prohibited",
    "posting_to_general_channel_denied", "channel_is_archived", "no_service_id",
}
# The incoming-webhook URL is a secret, and slack-sdk logs it at DEBUG level:
# the client logs here instead, never below INFO, whatever LOG_LEVEL says.
WEBHOOK_LOGGER = logging.getLogger("beacon.slack.webhook")
WEBHOOK_LOGGER.setLevel(logging.INFO)
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
# The incoming-webhook URL is a secret, its host included: a refusal does not name it.
ALLOW_HINT = "Add its network to BEACON_ALLOWED_PRIVATE_NETWORKS to allow it."
# How much of Slack's answer an error message quotes.
ERROR_QUOTE = 200


class GuardedWebhookClient(WebhookClient):
    """slack-sdk's incoming-webhook client, held to the network guard.

    The webhook URL is user input checked by the network guard; the stock client
    opens it with ``urlopen``, which follows a 30x to any address and resolves the
    host again when connecting (DNS rebinding). This replaces only the one method
    that opens the URL (retries and error handling stay slack-sdk's), using the
    guard's opener: no redirects, no proxy, and the connected peer address checked
    before the request is sent (``NetworkRefused`` otherwise)."""

    def _perform_http_request_internal(
        self, url: str, req: urllib.request.Request
    ) -> WebhookResponse:
        opener = guarded_opener(context=self.ssl)
        http_resp = opener.open(req, timeout=self.timeout)
        charset = http_resp.headers.get_content_charset() or "utf-8"
        return WebhookResponse(
            url=url,
            status_code=http_resp.status,
            body=http_resp.read().decode(charset),
            headers=http_resp.headers,
        )


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so names cannot inject links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an escape
    (``&amp;``)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp < len("&amp;"):
        cut = cut[:amp]
    return cut + "…"


def webhook_refusal(exc: NetworkRefused) -> str:
    """The network guard's refusal of an incoming-webhook URL, without its host or URL."""
    if exc.address is None:
        return "Refused to call the Slack webhook URL: only http(s) URLs with a host can be called."
    if exc.rebound:
        return (f"Refused to call the Slack webhook URL: the connection went to {exc.address}, "
                f"which is not a public address. {ALLOW_HINT}")
    return (f"Refused to call the Slack webhook URL: its host resolves to {exc.address}, "
            f"which is not a public address. {ALLOW_HINT}")


def render_text(template: str, variables: dict[str, Any]) -> str:
    """A title or message template rendered for Slack: the template's own text as
    written, every substituted value escaped."""
    from automations.templating import render_text as render

    return render(template, variables, escape=escape)


def as_text(data: Any) -> str:
    """A Web API answer as the JSON Slack sent (not a Python repr)."""
    if isinstance(data, dict | list):
        return json.dumps(data, ensure_ascii=False)
    return str(data or "")


def build_message(
    *, severity: str, title: str, message: str, context: EventContext
) -> dict[str, Any]:
    """The Slack message: ``{"text": fallback, "blocks": [...]}``.

    Always says what happened (and the filter), where, who, and links back to Beacon.
    ``title`` and ``message`` are Slack text already (rendered by :func:`render_text`);
    the context's words are escaped here."""
    label = SEVERITIES.get(severity, SEVERITIES["INFO"])
    heading = title or escape(context.automation_name or context.what)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "emoji": True,
                     "text": clip(f"{label} · {heading}", HEADER_LIMIT)},
        },
    ]
    if message:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "verbatim": True,
                                     "text": clip(message, SECTION_LIMIT)}}
        )
    facts = [f"*What:* {escape(context.what)}"]
    if context.filter:
        facts.append(f"*Filter:* {escape(context.filter)}")
    facts.append(f"*Where:* {escape(context.where)}")
    facts.append(f"*Who:* {escape(context.who or 'unknown')}")
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "verbatim": True,
                                     "text": clip("\n".join(facts), SECTION_LIMIT)}}
    )
    if context.automation_name:
        blocks.append({
            "type": "context",
            "elements": [{"type": "mrkdwn", "verbatim": True,
                          "text": f"Automation *{escape(context.automation_name)}* in Beacon"}],
        })
    if context.url:
        blocks.append({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in Beacon"},
                "url": context.url,
                "action_id": "open_in_beacon",
            }],
        })
    fallback = f"[{escape(severity)}] {heading}: {escape(context.what)} in {escape(context.where)}"
    fallback += f" by {escape(context.who or 'unknown')}"
    if context.url:
        fallback += f" — {context.url}"
    return {"text": fallback, "blocks": blocks}


class SlackAction(Action):
    kind = "slack"

    def build(
        self,
        config: dict[str, Any],
        variables: dict[str, Any],
        context: EventContext,
        full_event: dict[str, Any],
    ) -> Any:
        return build_message(
            severity=str(config.get("severity") or "INFO"),
            title=render_text(str(config.get("title") or ""), variables),
            message=render_text(str(config.get("message") or ""), variables),
            context=context,
        )

    def test_payload(self, context: EventContext) -> Any:
        return build_message(
            severity="INFO", title=escape(f"Test notification for {self.integration.name}"),
            message="Beacon can reach this channel.", context=context,
        )

    def secrets(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.integration.webhook_url_secret is not None:
            found["SLACK_WEBHOOK_URL"] = self.integration.webhook_url_secret.value
        if self.integration.bot_token_secret is not None:
            found["SLACK_BOT_TOKEN"] = self.integration.bot_token_secret.value
        return found

    def hidden(self, text: str, limit: int | None = None) -> str:
        """``text`` with the secrets masked — and, in incoming-webhook mode, the webhook's
        host too: the URL is a secret and errors are shown to every team member."""
        values = list(self.secrets().values())
        hook = self.integration.webhook_url_secret
        if hook is not None and self.integration.bot_token_secret is None:
            host = urlsplit(hook.value).hostname or ""
            if host:
                values.append(host)
        return masked_excerpt(text, values, limit)

    def send(self, payload: Any, *, webhook_id: str) -> DeliveryResult:
        result = stopwatch()
        if not isinstance(payload, dict):
            return result(ok=False, permanent=True, error="A Slack message must be an object.")
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks") or None
        timeout = int(max(1, settings.BEACON_WEBHOOK_READ_TIMEOUT))
        bot = self.integration.bot_token_secret
        try:
            if bot is not None:
                # SLACK_API_URL is operator configuration, trusted: it is checked
                # before the call as ever, but its connection is not peer-checked.
                check_url(settings.SLACK_API_URL)
                client = WebClient(token=bot.value, base_url=settings.SLACK_API_URL,
                                   timeout=timeout)
                response = client.chat_postMessage(
                    channel=self.integration.channel_id, text=text, blocks=blocks
                )
                return result(ok=True, status=response.status_code,
                              response_excerpt=kept(as_text(response.data)))
            hook = self.integration.webhook_url_secret
            if hook is None:
                return result(ok=False, permanent=True,
                              error="The Slack integration has neither a webhook URL nor a token.")
            check_url(hook.value)
            webhook = GuardedWebhookClient(hook.value, timeout=timeout, logger=WEBHOOK_LOGGER)
            response = webhook.send(text=text, blocks=blocks)
        except NetworkRefused as exc:
            if bot is None:
                return result(ok=False, permanent=True, error=webhook_refusal(exc))
            return result(ok=False, permanent=True, error=str(exc))
        except SlackApiError as exc:
            code = str(exc.response.get("error", "")) if exc.response is not None else ""
            status = exc.response.status_code if exc.response is not None else None
            permanent = code in PERMANENT_ERRORS or (
                status is not None and is_permanent_status(status)
            )
            return result(ok=False, status=status, permanent=permanent,
                          response_excerpt=kept(as_text(getattr(exc.response, "data", ""))),
                          error=f"Slack refused the message: {code or exc}")
        except Exception as exc:  # urllib/socket errors from slack-sdk: transient
            return result(ok=False, error=self.hidden(f"Could not reach Slack: {exc}"))
        body = str(response.body)
        if response.status_code == 200:
            return result(ok=True, status=200, response_excerpt=kept(body))
        if 300 <= response.status_code < 400:
            return result(
                ok=False, status=response.status_code, response_excerpt=kept(body),
                permanent=True,
                error=f"Redirects are not followed (Slack webhook answered HTTP "
                      f"{response.status_code}).",
            )
        return result(
            ok=False, status=response.status_code, response_excerpt=kept(body),
            error=f"Slack answered HTTP {response.status_code}: {self.hidden(body, ERROR_QUOTE)}",
            permanent=is_permanent_status(response.status_code),
        )
