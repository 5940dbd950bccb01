"""Ready-made webhook payloads for popular receivers, using only variables every
event of a scope has (so a preset is valid whatever event is chosen)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from automations.models import Scope


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    description: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False)


def presets_for(scope_type: str) -> list[Preset]:
    where = "${project_name}" if scope_type == Scope.PROJECT else "${registry_name}"
    summary = f"${{event_type}} in ${{entity_name}}/{where}"
    return [
        Preset(
            "github",
            "GitHub repository_dispatch",
            "POST to https://api.github.com/repos/OWNER/REPO/dispatches with a token.",
            {
                "event_type": "beacon-${event_type}",
                "client_payload": {
                    "automation": "${automation_name}",
                    "team": "${entity_name}",
                    "scope": where,
                    "event_id": "${event_id}",
                    "author": "${event_author}",
                    "url": "${url}",
                },
            },
        ),
        Preset(
            "teams-messagecard",
            "Microsoft Teams (MessageCard)",
            "For a Teams incoming webhook connector.",
            {
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": summary,
                "themeColor": "1F4FD1",
                "title": "${automation_name}",
                "sections": [
                    {
                        "activityTitle": summary,
                        "facts": [
                            {"name": "Event", "value": "${event_type}"},
                            {"name": "By", "value": "${event_author}"},
                            {"name": "When", "value": "${event_time}"},
                        ],
                    }
                ],
                "potentialAction": [
                    {
                        "@type": "OpenUri",
                        "name": "Open in Beacon",
                        "targets": [{"os": "default", "uri": "${url}"}],
                    }
                ],
            },
        ),
        Preset(
            "teams-adaptive",
            "Microsoft Teams (Adaptive Card)",
            "For Teams workflows (Power Automate) webhooks.",
            {
                "type": "message",
                "attachments": [
                    {
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "content": {
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard",
                            "version": "1.4",
                            "body": [
                                {"type": "TextBlock", "size": "Medium", "weight": "Bolder",
                                 "text": "${automation_name}"},
                                {"type": "TextBlock", "wrap": True, "text": summary},
                                {"type": "FactSet", "facts": [
                                    {"title": "By", "value": "${event_author}"},
                                    {"title": "When", "value": "${event_time}"},
                                ]},
                            ],
                            "actions": [
                                {"type": "Action.OpenUrl", "title": "Open in Beacon",
                                 "url": "${url}"}
                            ],
                        },
                    }
                ],
            },
        ),
        Preset(
            "discord",
            "Discord (content)",
            "A plain Discord webhook message.",
            {"content": f"**${{automation_name}}**: {summary} by ${{event_author}} — ${{url}}"},
        ),
        Preset(
            "discord-embed",
            "Discord (embed)",
            "A Discord webhook message with an embed.",
            {
                "username": "Beacon",
                "embeds": [
                    {
                        "title": "${automation_name}",
                        "description": summary,
                        "url": "${url}",
                        "fields": [
                            {"name": "By", "value": "${event_author}", "inline": True},
                            {"name": "When", "value": "${event_time}", "inline": True},
                        ],
                    }
                ],
            },
        ),
        Preset(
            "slack-blocks",
            "Slack blocks",
            "For a Slack incoming webhook called as a plain webhook.",
            {
                "text": f"${{automation_name}}: {summary}",
                "blocks": [
                    {"type": "header",
                     "text": {"type": "plain_text", "text": "${automation_name}"}},
                    {"type": "section",
                     "text": {"type": "mrkdwn", "text": f"*{summary}*\nby ${{event_author}}"}},
                    {"type": "actions", "elements": [
                        {"type": "button", "text": {"type": "plain_text",
                                                    "text": "Open in Beacon"}, "url": "${url}"}
                    ]},
                ],
            },
        ),
    ]


def get_preset(scope_type: str, key: str) -> Preset | None:
    return next((p for p in presets_for(scope_type) if p.key == key), None)
