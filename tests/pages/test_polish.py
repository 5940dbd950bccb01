"""Details found by looking at the pages in a browser: words instead of codes, sensible defaults."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.urls import reverse

from automations.models import Automation, Execution
from automations.templatetags.automations_tags import happening, ticks
from projects.models import Artifact, Project
from teams.models import Integration
from tests.support.web import Clients

NEW_PROJECT = reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"})


def test_the_only_integration_of_a_kind_is_preselected_on_a_new_automation(
    admin: User, project: Project, webhook: Integration, slack: Integration, client_for: Clients
) -> None:
    form = client_for(admin).get(NEW_PROJECT).context["form"]
    assert form["webhook_integration"].value() == "deploy"
    assert form["slack_integration"].value() == "alerts"


def test_nothing_is_preselected_when_there_is_a_choice(
    admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    Integration.objects.create(
        team=webhook.team, kind=Integration.Kind.WEBHOOK, name="other", url="https://example.com/h"
    )
    form = client_for(admin).get(NEW_PROJECT).context["form"]
    assert form["webhook_integration"].value() in (None, "")


def test_event_types_read_as_words_on_the_team_home(
    admin: User, project: Project, client_for: Clients
) -> None:
    Artifact.log_version(
        project, name="m", type="model", digest="d1", aliases=["latest"], author=admin
    )
    html = client_for(admin).get(reverse("team_home", args=["acme"])).content.decode()
    assert "Alias added" in html and "Artifact version created" in html
    assert "<code>ADD_ARTIFACT_ALIAS</code>" not in html


def test_happening_names_unknown_types_readably() -> None:
    assert happening("LINK_ARTIFACT") == "Version linked"
    assert happening("SOMETHING_NEW") == "Something new"


def test_ticks_shows_code_and_escapes_the_rest() -> None:
    assert ticks("last `window` <values>") == "last <code>window</code> &lt;values&gt;"


def test_filter_description_shows_code_not_backticks(
    admin: User, project: Project, client_for: Clients
) -> None:
    url = reverse("automation_filter_fields", args=["acme"])
    html = client_for(admin).get(
        url, {"event_type": "RUN_METRIC_THRESHOLD", "scope_type": "project", "scope_name": "mnist"}
    ).content.decode()
    assert "<code>window</code>" in html and "`window`" not in html


def test_form_labels_have_no_trailing_colon(admin: User, client_for: Clients) -> None:
    html = client_for(admin).get(reverse("settings_secrets", args=["acme"])).content.decode()
    assert '<label for="id_name">Name</label>' in html
    assert 'aria-describedby="id_name_helptext"' in html and 'id="id_name_helptext"' in html


def test_webhook_id_is_shown_for_webhooks_only(
    admin: User,
    make_automation: Callable[..., Automation],
    make_execution: Callable[..., Execution],
    slack: Integration, client_for: Clients,
) -> None:
    hook = make_execution(make_automation("hook"))
    note = make_execution(
        make_automation(
            "note",
            action_type=Automation.ActionType.SLACK_NOTIFICATION,
            integration=slack,
            action_config={"title": "t", "message": "", "severity": "INFO"},
        )
    )
    client = client_for(admin)
    hook_html = client.get(reverse("execution_detail", args=["acme", hook.pk])).content.decode()
    note_html = client.get(reverse("execution_detail", args=["acme", note.pk])).content.decode()
    assert "Webhook id" in hook_html and hook.webhook_id in hook_html
    assert "Webhook id" not in note_html and note.webhook_id not in note_html
