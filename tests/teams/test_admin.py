"""The Django admin: every model is there; secret values are write-only in it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from automations.models import Attempt, Automation, Event, Execution
from teams.models import ApiKey, Integration, Secret, Team

VALUE = "admin-plaintext-Kx7-do-not-show"
ROTATED = "admin-rotated-Qw3-do-not-show"


@pytest.fixture
def staff(make_user: Callable[..., User]) -> Client:
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    client = Client()
    client.force_login(root)
    return client


def test_every_model_of_beacon_is_in_the_admin() -> None:
    registered = {m._meta.label for m in django_admin.site._registry}
    for label in [
        "teams.Team", "teams.Membership", "teams.Secret", "teams.Integration", "teams.ApiKey",
        "projects.Project", "projects.Run", "projects.MetricPoint", "projects.Artifact",
        "projects.ArtifactVersion", "projects.ArtifactAlias",
        "registries.Registry", "registries.Collection", "registries.LinkedVersion",
        "registries.LinkedAlias",
        "automations.Event", "automations.Automation", "automations.Execution",
        "automations.Attempt",
    ]:
        assert label in registered, label


def test_every_changelist_and_change_page_opens(
    staff: Client, team: Team, admin: User, project: object, registry: object
) -> None:
    from projects.models import Artifact, Run

    run = Run.start(project, author=admin, run_id="r1")  # type: ignore[arg-type]
    run.log_history([(0, {"loss": 1.0})], admin)
    version, _ = Artifact.log_version(
        project, name="m", type="model", digest="d", aliases=["best"], author=admin  # type: ignore[arg-type]
    )
    registry.link("c", version, aliases=["prod"], author=admin)  # type: ignore[attr-defined]
    hook = Integration.objects.create(team=team, kind="webhook", name="h", url="https://x.y/")
    automation = Automation.objects.create(
        team=team, name="a", scope_type="project", project=project, event_type="RUN_STATE",
        action_type="WEBHOOK", integration=hook,
    )
    execution = Execution.objects.create(automation=automation, event=Event.objects.first())
    Attempt.objects.create(execution=execution, number=1, ok=True, status_code=200)
    Secret.objects.create(team=team, name="S", value=VALUE)
    ApiKey.issue(admin, "k")
    for model, model_admin in django_admin.site._registry.items():
        if model._meta.app_label not in {"teams", "projects", "registries", "automations"}:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        assert staff.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        obj = model.objects.first()
        assert obj is not None, info
        change = staff.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert change.status_code == 200, info
        if model_admin.has_add_permission(change.wsgi_request):
            assert staff.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200, info


def test_django_q_admin_is_reachable(staff: Client) -> None:
    assert staff.get("/admin/django_q/").status_code == 200
    assert staff.get(reverse("admin:django_q_success_changelist")).status_code == 200
    assert staff.get(reverse("admin:django_q_schedule_changelist")).status_code == 200


def test_a_secret_is_created_in_the_admin_through_a_write_only_field(
    staff: Client, team: Team
) -> None:
    response = staff.post(
        reverse("admin:teams_secret_add"), {"team": team.pk, "name": "TOKEN", "new_value": VALUE}
    )
    assert response.status_code == 302
    secret = Secret.objects.get(team=team, name="TOKEN")
    assert secret.value == VALUE
    page = staff.get(reverse("admin:teams_secret_change", args=[secret.pk])).content.decode()
    assert VALUE not in page
    assert 'type="password"' in page


def test_a_new_secret_needs_a_value(staff: Client, team: Team) -> None:
    response = staff.post(
        reverse("admin:teams_secret_add"), {"team": team.pk, "name": "EMPTY", "new_value": ""}
    )
    assert response.status_code == 200
    assert "needs a value" in response.content.decode()
    assert not Secret.objects.filter(name="EMPTY").exists()


def test_a_blank_value_keeps_the_secret_and_a_new_one_rotates_it(
    staff: Client, team: Team
) -> None:
    secret = Secret.objects.create(team=team, name="TOKEN", value=VALUE)
    url = reverse("admin:teams_secret_change", args=[secret.pk])
    staff.post(url, {"team": team.pk, "name": "TOKEN_RENAMED", "new_value": ""})
    secret.refresh_from_db()
    assert (secret.name, secret.value) == ("TOKEN_RENAMED", VALUE)
    before = secret.updated_at
    staff.post(url, {"team": team.pk, "name": "TOKEN_RENAMED", "new_value": ROTATED})
    secret.refresh_from_db()
    assert secret.value == ROTATED and secret.updated_at > before


def test_no_admin_page_or_log_entry_shows_a_secret_value(staff: Client, team: Team) -> None:
    staff.post(
        reverse("admin:teams_secret_add"), {"team": team.pk, "name": "TOKEN", "new_value": VALUE}
    )
    secret = Secret.objects.get(name="TOKEN")
    staff.post(
        reverse("admin:teams_secret_change", args=[secret.pk]),
        {"team": team.pk, "name": "TOKEN", "new_value": ROTATED},
    )
    hook = Integration.objects.create(
        team=team, kind="webhook", name="h", url="https://x.y/", access_token_secret=secret
    )
    pages = [
        reverse("admin:teams_secret_changelist"),
        reverse("admin:teams_secret_change", args=[secret.pk]),
        reverse("admin:teams_secret_history", args=[secret.pk]),
        reverse("admin:teams_secret_delete", args=[secret.pk]),
        reverse("admin:teams_integration_changelist"),
        reverse("admin:teams_integration_change", args=[hook.pk]),
        reverse("admin:teams_integration_history", args=[hook.pk]),
        reverse("admin:index"),
        "/admin/autocomplete/?app_label=teams&model_name=integration"
        "&field_name=access_token_secret&term=",
    ]
    for url in pages:
        html = staff.get(url).content.decode()
        for value in (VALUE, ROTATED, hook.signing_secret):
            assert value not in html, url
    entries = LogEntry.objects.filter(object_id=str(secret.pk))
    assert entries.count() == 2
    for entry in entries:
        assert VALUE not in entry.change_message and ROTATED not in entry.change_message
        assert VALUE not in entry.object_repr and ROTATED not in entry.object_repr


def test_the_secret_changelist_shows_name_team_and_dates_only() -> None:
    from teams.admin import SecretAdmin

    assert SecretAdmin.list_display == ["name", "team", "created_at", "updated_at"]
