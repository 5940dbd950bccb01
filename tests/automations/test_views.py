"""The Automations tab in the browser: pages, roles, one-click actions, history, secrets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from automations.models import Attempt, Automation, Execution, Scope
from projects.models import Project
from registries.models import Registry
from teams.models import Integration
from tests.support.web import Clients


def list_url(project: Project) -> str:
    return reverse("project_automations", args=[project.team.slug, project.name])


# --- the Automations tab --------------------------------------------------------


def test_empty_state_explains_and_offers_creation_to_admins(
    admin: User, project: Project, client_for: Clients
) -> None:
    html = client_for(admin).get(list_url(project)).content.decode()
    assert "No automations yet" in html
    assert "A run fails" in html and "production" in html
    assert reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"}) in html


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_empty_state_has_no_dead_button_for_non_admins(
    persona: str, request: pytest.FixtureRequest, project: Project, client_for: Clients
) -> None:
    user = request.getfixturevalue(persona)
    html = client_for(user).get(list_url(project)).content.decode()
    assert "No automations yet" in html
    assert "/automations/new/" not in html
    assert "Team admins create automations" in html


def test_list_shows_event_in_words_action_target_and_last_execution(
    admin: User, project: Project, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    execution = make_execution(automation, status="failed")
    html = client_for(admin).get(list_url(project)).content.decode()
    assert "on-failure" in html
    assert "A run changes state" in html
    assert "run state is failed" in html
    assert "deploy" in html and "http://127.0.0.1:9/hook" in html
    assert reverse("execution_detail", args=["acme", execution.pk]) in html
    assert "badge-failed" in html
    assert 'role="switch"' in html


def test_list_filters_and_sorts_by_get_params(
    admin: User, project: Project, make_automation: Callable[..., Automation], client_for: Clients
) -> None:
    make_automation("b-alias", event_type="ADD_ARTIFACT_ALIAS", filter={"alias_regex": "^prod"})
    make_automation("a-failed")
    make_automation("c-off", enabled=False)
    client = client_for(admin)

    html = client.get(list_url(project), {"event": "ADD_ARTIFACT_ALIAS"}).content.decode()
    assert "b-alias" in html and "a-failed" not in html

    html = client.get(list_url(project), {"enabled": "no"}).content.decode()
    assert "c-off" in html and "b-alias" not in html

    html = client.get(list_url(project), {"q": "FAIL"}).content.decode()
    assert "a-failed" in html and "c-off" not in html

    html = client.get(list_url(project), {"sort": "-name"}).content.decode()
    assert html.index("c-off") < html.index("b-alias") < html.index("a-failed")

    html = client.get(list_url(project), {"q": "nothing-like-this"}).content.decode()
    assert "No automation matches these filters" in html


def test_list_sorts_by_last_run(
    admin: User, project: Project, make_automation: Callable[..., Automation],
    make_execution: Callable[..., Execution], client_for: Clients,
) -> None:
    old, new = make_automation("old-one"), make_automation("new-one")
    make_automation("never-run")
    make_execution(old)
    make_execution(new)
    html = client_for(admin).get(list_url(project), {"sort": "-last"}).content.decode()
    assert html.index("new-one") < html.index("old-one") < html.index("never-run")


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_non_admins_see_automations_read_only(
    persona: str, request: pytest.FixtureRequest, project: Project, automation: Automation,
    make_execution: Callable[..., Execution], client_for: Clients,
) -> None:
    user = request.getfixturevalue(persona)
    execution = make_execution(automation)
    client = client_for(user)
    pages = [
        list_url(project),
        reverse("automation_detail", args=["acme", automation.pk]),
        reverse("execution_detail", args=["acme", execution.pk]),
        reverse("project_history", args=["acme", "mnist"]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "on-failure" in html
        for control in ("/edit/", "/delete/", "/toggle/", "/test/", "/redeliver/",
                        "/automations/new/", 'role="switch"'):
            assert control not in html, (url, control)


def test_registry_tab_lists_registry_automations(
    admin: User, registry: Registry, slack: Integration, automation: Automation, client_for: Clients
) -> None:
    Automation.objects.create(
        team=registry.team, name="prod-alias", scope_type=Scope.REGISTRY, registry=registry,
        event_type="ADD_ARTIFACT_ALIAS", filter={"alias_regex": "^production$"},
        action_type=Automation.ActionType.SLACK_NOTIFICATION, integration=slack,
        action_config={"severity": "WARN"},
    )
    html = client_for(admin).get(
        reverse("registry_automations", args=["acme", "model"])
    ).content.decode()
    assert "prod-alias" in html and "An alias is added to a linked version" in html
    assert "on-failure" not in html  # the project's automation stays on the project's tab
    assert "Automations history" in html


def test_outsiders_get_404_everywhere(
    outsider: User, project: Project, registry: Registry, automation: Automation,
    make_execution: Callable[..., Execution], client_for: Clients,
) -> None:
    execution = make_execution(automation)
    client = client_for(outsider)
    gets = [
        list_url(project),
        reverse("registry_automations", args=["acme", "model"]),
        reverse("project_history", args=["acme", "mnist"]),
        reverse("registry_history", args=["acme", "model"]),
        reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"}),
        reverse("automation_detail", args=["acme", automation.pk]),
        reverse("automation_edit", args=["acme", automation.pk]),
        reverse("automation_delete", args=["acme", automation.pk]),
        reverse("execution_detail", args=["acme", execution.pk]),
        reverse("automation_filter_fields", args=["acme"])
        + "?scope_type=project&scope_name=mnist&event_type=RUN_STATE",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("automation_toggle", args=["acme", automation.pk]),
        reverse("automation_test", args=["acme", automation.pk]),
        reverse("automation_delete", args=["acme", automation.pk]),
        reverse("execution_redeliver", args=["acme", execution.pk]),
    ]
    for url in posts:
        assert client.post(url).status_code == 404, url
    assert Automation.objects.filter(pk=automation.pk, enabled=True).exists()


def test_anonymous_users_are_sent_to_login(project: Project) -> None:
    response = Client().get(list_url(project))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_hand_posted_manage_forms_answer_403(
    persona: str, request: pytest.FixtureRequest, project: Project, automation: Automation,
    make_execution: Callable[..., Execution], webhook: Integration, client_for: Clients,
) -> None:
    user = request.getfixturevalue(persona)
    execution = make_execution(automation)
    client = client_for(user)
    body = {"event_type": "RUN_STATE", "filter_states": ["failed"], "action_type": "WEBHOOK",
            "webhook_integration": "deploy", "name": "sneaky", "enabled": "on"}
    posts = [
        (reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"}), body),
        (reverse("automation_edit", args=["acme", automation.pk]), body),
        (reverse("automation_toggle", args=["acme", automation.pk]), {}),
        (reverse("automation_test", args=["acme", automation.pk]), {}),
        (reverse("automation_delete", args=["acme", automation.pk]), {}),
        (reverse("execution_redeliver", args=["acme", execution.pk]), {}),
        (reverse("automation_preview", args=["acme"]),
         {**body, "scope_type": "project", "scope_name": "mnist"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    for url in (reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"}),
                reverse("automation_edit", args=["acme", automation.pk])):
        assert client.get(url).status_code == 403, url
    automation.refresh_from_db()
    assert automation.enabled and automation.name == "on-failure"
    assert not Automation.objects.filter(name="sneaky").exists()
    assert Execution.objects.count() == 1


# --- toggle and delete ----------------------------------------------------------


def test_toggle_is_one_click_and_htmx_swaps_the_switch(
    admin: User, project: Project, automation: Automation, client_for: Clients
) -> None:
    client = client_for(admin)
    url = reverse("automation_toggle", args=["acme", automation.pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-checked="false"' in html and "<html" not in html
    assert not Automation.objects.get(pk=automation.pk).enabled

    response = client.post(url, {"next": list_url(project)})
    assert response.status_code == 302 and response["Location"] == list_url(project)
    assert Automation.objects.get(pk=automation.pk).enabled


def test_toggle_ignores_an_offsite_next(
    admin: User, project: Project, automation: Automation, client_for: Clients
) -> None:
    response = client_for(admin).post(
        reverse("automation_toggle", args=["acme", automation.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == list_url(project)


def test_delete_asks_for_confirmation_then_deletes(
    admin: User, project: Project, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    make_execution(automation)
    client = client_for(admin)
    url = reverse("automation_delete", args=["acme", automation.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Delete automation on-failure?" in page.content.decode()
    assert "1 execution" in page.content.decode()
    assert Automation.objects.filter(pk=automation.pk).exists()

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == list_url(project)
    assert not Automation.objects.filter(pk=automation.pk).exists()


# --- history and execution detail -------------------------------------------------


def test_scope_history_is_newest_first_filtered_and_paginated(
    admin: User, project: Project, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    executions = [make_execution(automation) for _ in range(26)]
    failed = make_execution(automation, status="failed")
    client = client_for(admin)
    url = reverse("project_history", args=["acme", "mnist"])

    html = client.get(url).content.decode()
    assert html.index(f"#{failed.pk}<") < html.index(f"#{executions[-1].pk}<")
    assert "Page 1 of 2" in html
    assert f"#{executions[0].pk}<" not in html
    assert f"#{executions[0].pk}<" in client.get(url, {"page": 2}).content.decode()

    html = client.get(url, {"status": "failed"}).content.decode()
    assert f"#{failed.pk}<" in html and f"#{executions[-1].pk}<" not in html


def test_registry_history_tab_shows_only_registry_executions(
    admin: User, registry: Registry, automation: Automation,
    make_execution: Callable[..., Execution], client_for: Clients,
) -> None:
    make_execution(automation)
    url = reverse("registry_history", args=["acme", "model"])
    html = client_for(admin).get(url).content.decode()
    assert "Nothing has run yet" in html
    assert "on-failure" not in html


def test_automation_detail_shows_config_and_its_history(
    admin: User, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    execution = make_execution(automation)
    html = client_for(admin).get(automation.get_absolute_url()).content.decode()
    assert "run state is failed" in html
    assert "${run_name} failed" in html
    assert reverse("execution_detail", args=["acme", execution.pk]) in html
    assert reverse("automation_edit", args=["acme", automation.pk]) in html
    assert reverse("automation_test", args=["acme", automation.pk]) in html


def test_execution_detail_shows_event_reason_target_payload_and_attempts(
    admin: User, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    execution = make_execution(
        automation, status="failed", error="Receiver answered 500 three times.",
        match={"reason": "avg(loss, 5) = 2.31 > 2.0", "values": {"metric_value": 2.31}},
    )
    Attempt.objects.create(execution=execution, number=1, status_code=500,
                           response_excerpt="upstream exploded", duration_ms=42,
                           error="HTTP 500")
    html = client_for(admin).get(execution.get_absolute_url()).content.decode()
    assert "A run changes state" in html
    assert 'href="/t/acme/p/mnist/runs/run-1/"' in html
    assert "mia" in html
    assert "avg(loss, 5) = 2.31 &gt; 2.0" in html
    assert "http://127.0.0.1:9/hook" in html
    assert "run-1 failed" in html and "••••••" in html
    assert "upstream exploded" in html and "42 ms" in html and ">500<" in html
    assert "Receiver answered 500 three times." in html
    assert "<time datetime=" in html
    assert reverse("execution_redeliver", args=["acme", execution.pk]) in html


def test_execution_detail_falls_back_to_the_events_evaluation(
    admin: User, automation: Automation, make_execution: Callable[..., Execution],
    client_for: Clients,
) -> None:
    execution = make_execution(automation)
    html = client_for(admin).get(execution.get_absolute_url()).content.decode()
    assert "run state is failed (was running)" in html
