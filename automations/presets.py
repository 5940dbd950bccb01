"""Ready-made webhook payloads for popular receivers.

Without an event type a preset uses only variables every event of the scope has;
with one, it also carries that event's own variables (``${run_name}``,
``${metric_filter}``, ``${artifact_version_string}``, ``${project_name}`` — in
registry scope the linked version's source project —, ``${alias}``, ``${tag}``,
``${artifact_metadata.KEY}`` for the given metadata keys). Artifact events also
offer W&B's GitHub Actions ``repository_dispatch`` example, verbatim."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from automations.events import get_spec
from automations.models import Scope
from automations.templating import METADATA_PREFIX

# W&B's documented GitHub Actions example payload, unchanged.
WANDB_GITHUB_EXAMPLE: dict[str, Any] = {
    "event_type": "BUILD_AND_DEPLOY",
    "client_payload": {
        "event_author": "${event_author}",
        "artifact_version": "${artifact_version}",
        "artifact_version_string": "${artifact_version_string}",
        "artifact_collection_name": "${artifact_collection_name}",
        "project_name": "${project_name}",
        "entity_name": "${entity_name}",
    },
}


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    description: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False)


def event_details(
    scope_type: str, event_type: str | None, metadata_keys: list[str] | None = None
) -> dict[str, str]:
    """The event's own variables, as ``{label: "${variable}"}`` (empty without a type)."""
    if not event_type:
        return {}
    try:
        spec = get_spec(scope_type, event_type)
    except KeyError:
        return {}
    details: dict[str, str] = {}
    if spec.is_run_event:
        details.update(run="${run_name}", run_status="${run_status}", run_url="${run_url}")
    if spec.is_metric_event:
        details.update(condition="${metric_filter}", value="${metric_value}",
                       step="${metric_step}")
    if spec.is_artifact_event:
        details.update(
            artifact="${artifact_version_string}",
            artifact_version="${artifact_version}",
            collection="${artifact_collection_name}",
            project="${project_name}",
        )
        for key in metadata_keys or []:
            if "}" not in key and key.strip():
                details[f"metadata_{key}"] = "${" + METADATA_PREFIX + key + "}"
    if spec.is_collection_event:
        details["collection"] = "${artifact_collection_name}"
    if spec.is_alias_event:
        details["alias"] = "${alias}"
    if spec.is_tag_event:
        details["tag"] = "${tag}"
    return details


def presets_for(
    scope_type: str, event_type: str | None = None, metadata_keys: list[str] | None = None
) -> list[Preset]:
    """The presets of a scope; with ``event_type`` they carry its own variables too."""
    where = "${project_name}" if scope_type == Scope.PROJECT else "${registry_name}"
    summary = f"${{event_type}} in ${{entity_name}}/{where}"
    details = event_details(scope_type, event_type, metadata_keys)
    facts = [{"name": k.replace("_", " ").capitalize(), "value": v} for k, v in details.items()]
    presets = _presets(where, summary, details, facts)
    if event_type and "artifact_version" in details:
        presets.insert(1, Preset(
            "wandb-github",
            "GitHub Actions (W&B example)",
            "W&B's repository_dispatch example for GitHub Actions, unchanged.",
            WANDB_GITHUB_EXAMPLE,
        ))
    return presets


def _presets(
    where: str, summary: str, details: dict[str, str], facts: list[dict[str, str]]
) -> list[Preset]:
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
                    **details,
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
                            *facts,
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
                            *({**f, "inline": True} for f in facts),
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


def get_preset(scope_type: str, key: str, event_type: str | None = None) -> Preset | None:
    return next((p for p in presets_for(scope_type, event_type) if p.key == key), None)
