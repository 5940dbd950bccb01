"""Slack text: every substituted value and event detail is escaped (``&``, ``<``, ``>``),
so a run name cannot mention (``<!channel>``, ``<@U123>``) or link; the admin's own
template text stays as written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from automations import dispatch
from automations.actions import action_for
from automations.actions.base import EventContext
from automations.actions.slack import build_message, clip, escape, render_text
from automations.models import Event
from projects.models import Project, Run
from teams.models import Team
from tests.support.factories import make_automation, make_slack
from tests.support.fake_slack import VALID_TOKEN, FakeSlack

HOSTILE = "<!channel> <https://evil.example|click here> & <@U123> <#C1>"
ESCAPED = "&lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; &lt;@U123&gt; &lt;#C1&gt;"


def texts(message: dict[str, Any]) -> list[str]:
    """Every text Slack would read in a message: the fallback and each block's text."""
    found = [message.get("text", "")]

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(message.get("blocks") or [])
    return found


def assert_no_injection(message: dict[str, Any]) -> None:
    for text in texts(message):
        for markup in ("<!channel>", "<https://evil", "<@U123>", "<#C1>"):
            assert markup not in text, text


def test_escape_follows_slacks_rules() -> None:
    assert escape(HOSTILE) == ESCAPED
    assert escape("a &amp; b") == "a &amp;amp; b"  # escaped once more: shown as typed


def test_values_are_escaped_and_the_template_is_kept() -> None:
    variables = {"run_name": HOSTILE, "project_name": "mnist"}
    assert render_text("<!here> ${run_name} in ${project_name}", variables) == (
        f"<!here> {ESCAPED} in mnist"
    )
    assert render_text("$${run_name} ${missing}", variables) == "${run_name} ${missing}"


def test_a_message_built_from_hostile_values_cannot_mention_or_link() -> None:
    context = EventContext(
        what=f"Run {HOSTILE} is now failed", filter=f"run name matches {HOSTILE}",
        where=f"acme/{HOSTILE} (project)", who=HOSTILE, url="http://beacon.test/r/1",
        automation_name="failed-runs", event_type="RUN_STATE",
    )
    variables = {"run_name": HOSTILE}
    message = build_message(
        severity="ERROR", title=render_text("Run ${run_name} failed <!here>", variables),
        message=render_text("*${run_name}* failed", variables), context=context,
    )
    assert_no_injection(message)
    assert message["text"].startswith(f"[ERROR] Run {ESCAPED} failed <!here>: Run {ESCAPED}")
    assert message["blocks"][1]["text"]["text"] == f"*{ESCAPED}* failed"
    # Without a title the heading is the (escaped) event.
    bare = build_message(severity="INFO", title="", message="",
                         context=EventContext(**{**context.__dict__, "automation_name": ""}))
    assert_no_injection(bare)
    assert ESCAPED in bare["blocks"][0]["text"]["text"]


def test_clipping_never_cuts_an_escape_in_half() -> None:
    assert clip("ab&amp;cd", 5) == "ab…"
    assert clip("ab&amp;cd", 8) == "ab&amp;…"
    assert clip("short", 10) == "short"


@pytest.fixture
def fake_slack() -> Any:
    with FakeSlack() as server:
        yield server


def hostile_run_fails(project: Project, user: Any) -> Event:
    run = Run.start(project, author=user, run_id="r-1", display_name=HOSTILE)
    run.set_state("failed", user)
    return Event.objects.filter(type="RUN_STATE", data__state="failed").get()


@pytest.mark.parametrize("mode", ["webhook", "bot"])
def test_the_real_slack_sdk_posts_escaped_values(
    team: Team, project: Project, member: Any, fake_slack: FakeSlack, settings: Any, mode: str
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    settings.SLACK_API_URL = fake_slack.api_url
    if mode == "webhook":
        integration = make_slack(team, webhook_url=fake_slack.webhook_url())
    else:
        integration = make_slack(team, bot_token=VALID_TOKEN, channel_id="C42")
    make_automation(
        project, integration, event_type="RUN_STATE", filter={"states": ["failed"]},
        config={"title": "<!here> ${run_name} failed",
                "message": "Run *${run_name}* (${run_id}) by ${event_author}",
                "severity": "ERROR"},
    )
    [execution] = dispatch.process(hostile_run_fails(project, member))
    delivered = dispatch.deliver_execution(execution.pk)
    assert delivered is not None and delivered.status == "finished", delivered.error

    [posted] = fake_slack.wait_for_messages(1)
    assert posted["via"] == ("webhook" if mode == "webhook" else "api")
    assert_no_injection(posted)
    every = json.dumps(texts(posted), ensure_ascii=False)
    assert ESCAPED in every
    # The admin's own mention stays.
    assert posted["text"].startswith("[ERROR] <!here> ")
    assert posted["blocks"][0]["text"]["text"].startswith(":rotating_light: ERROR · <!here> ")


def test_the_integration_test_message_is_escaped(team: Team, fake_slack: FakeSlack,
                                                 settings: Any) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    action = action_for(make_slack(team, name="a&b", webhook_url=fake_slack.webhook_url()))
    message = action.test_payload(EventContext(what="A <test>", filter="", where="acme <x>",
                                               who="", url=""))
    assert "Test notification for a&amp;b" in message["text"]
    assert "&lt;test&gt;" in message["text"] and "<test>" not in message["text"]


def test_text_objects_are_verbatim_so_bare_urls_in_values_are_not_linked() -> None:
    context = EventContext(what="Run https://evil.example is now failed", filter="",
                           where="acme/mnist (project)", who="mia", url="",
                           automation_name="failed-runs")
    message = build_message(severity="INFO", title="t", message="m", context=context)
    mrkdwn = [block["text"] for block in message["blocks"] if block["type"] == "section"]
    mrkdwn += [e for block in message["blocks"] if block["type"] == "context"
               for e in block["elements"]]
    assert mrkdwn and all(item == {**item, "type": "mrkdwn", "verbatim": True} for item in mrkdwn)
