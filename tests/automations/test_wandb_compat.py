"""W&B compatibility of the catalog: the GitHub Actions example pasted verbatim in both
scopes, ``${project_name}`` in registry scope, presets per event, metadata keys offered
by the editor."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from automations import dispatch, templating, variables
from automations.events import CATALOG, specs_for_scope
from automations.models import Automation, Event, Scope
from automations.presets import WANDB_GITHUB_EXAMPLE, presets_for
from projects.models import Artifact, Project
from registries.models import Registry
from teams.models import Team
from tests.support.factories import make_webhook
from tests.support.web import Clients


def create(admin_api: Any, scope: dict[str, str], event: dict[str, Any], name: str) -> Any:
    return admin_api.post("/teams/acme/automations", json={
        "name": name,
        "scope": scope,
        "event": event,
        "action": {"type": "WEBHOOK", "integration": "deploy", "payload": WANDB_GITHUB_EXAMPLE},
    })


def test_wandbs_github_actions_example_is_accepted_verbatim_in_both_scopes(
    admin_api: Any, admin: User, team: Team, project: Project, registry: Registry
) -> None:
    make_webhook(team)
    in_project = create(admin_api, {"type": "project", "name": "mnist"},
                        {"type": "CREATE_ARTIFACT", "filter": {}}, "p")
    in_registry = create(admin_api, {"type": "registry", "name": "model"},
                         {"type": "LINK_MODEL", "filter": {}}, "r")

    assert in_project.status_code == 201, in_project.content
    assert in_registry.status_code == 201, in_registry.content
    assert in_registry.json()["event"]["type"] == "LINK_ARTIFACT"  # answered with Beacon's name

    # ${project_name} in registry scope is the project the linked version came from.
    version, _ = Artifact.log_version(project, name="clf", type="model", digest="d",
                                      author=admin)
    registry.link("digits", version, aliases=[], author=admin)
    event = Event.objects.get(type="LINK_ARTIFACT")
    [execution] = dispatch.process(event)
    payload, _ = dispatch.build_payload(execution)
    assert payload["client_payload"] == {
        "event_author": "alice",
        "artifact_version": f"beacon-artifact://{version.pk}",
        "artifact_version_string": "acme/model/digits:v0",
        "artifact_collection_name": "digits",
        "project_name": "mnist",
        "entity_name": "acme",
    }


@pytest.mark.parametrize(("scope", "type"), sorted(CATALOG))
def test_every_preset_of_every_event_uses_only_its_variables(scope: str, type: str) -> None:
    allowed = variables.allowed_variables(scope, type)
    presets = presets_for(scope, type, ["accuracy", "framework"])
    for preset in presets:
        assert templating.validate(preset.payload, allowed) == [], preset.key
    used = set().union(*(templating.referenced(p.payload) for p in presets))
    spec = CATALOG[(scope, type)]
    if spec.is_tag_event:
        assert "tag" in used
    if spec.is_artifact_event:
        assert {"project_name", "artifact_metadata.accuracy"} <= used
        assert "wandb-github" in {p.key for p in presets}
    else:
        assert "wandb-github" not in {p.key for p in presets}


@pytest.mark.parametrize("scope_type", [Scope.PROJECT, Scope.REGISTRY])
def test_presets_without_an_event_fit_every_event_of_the_scope(scope_type: str) -> None:
    for preset in presets_for(scope_type):
        for spec in specs_for_scope(scope_type):
            allowed = variables.allowed_variables(scope_type, spec.type)
            assert templating.validate(preset.payload, allowed) == []


def test_the_editor_offers_the_latest_versions_metadata_keys_and_event_presets(
    admin: User, project: Project, team: Team, client_for: Clients
) -> None:
    make_webhook(team)
    Artifact.log_version(project, name="clf", type="model", digest="a",
                         metadata={"old_key": 1}, author=admin)
    Artifact.log_version(project, name="clf", type="model", digest="b",
                         metadata={"accuracy": 0.93, "framework": "torch"}, author=admin)
    client = client_for(admin)

    preview = client.post(reverse("automation_preview", args=["acme"]), {
        "event_type": "ADD_ARTIFACT_TAG", "filter_tag_regex": "^validated$",
        "action_type": "WEBHOOK", "webhook_integration": "deploy",
        "payload": '{"t": "${tag}", "a": "${artifact_metadata.accuracy}"}',
        "scope_type": "project", "scope_name": "mnist",
    }, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-insert="${artifact_metadata.accuracy}"' in preview
    assert 'data-insert="${artifact_metadata.framework}"' in preview
    assert "artifact_metadata.old_key" not in preview  # only the latest version's keys
    assert 'data-insert="${tag}"' in preview

    fields = client.get(reverse("automation_filter_fields", args=["acme"]), {
        "event_type": "ADD_ARTIFACT_TAG", "scope_type": "project", "scope_name": "mnist",
    }).content.decode()
    assert 'id="presets"' in fields and 'hx-swap-oob="true"' in fields
    assert "GitHub Actions (W&amp;B example)" in fields
    assert "${tag}" in fields and "${artifact_metadata.accuracy}" in fields
    assert not Automation.objects.exists()


def test_wandb_wire_names_are_accepted_and_answered_with_beacons(
    admin_api: Any, admin: User, team: Team, project: Project, registry: Registry
) -> None:
    make_webhook(team)
    created = admin_api.post("/teams/acme/automations", json={
        "name": "nan", "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_METRIC", "filter": {"metric": "loss", "cmp": "nonfinite"}},
        "action": {"type": "WEBHOOK", "integration": "deploy"},
    })
    assert created.status_code == 201, created.content
    assert created.json()["event"]["type"] == "RUN_METRIC_THRESHOLD"
    assert Automation.objects.get().event_type == "RUN_METRIC_THRESHOLD"
    patched = admin_api.patch(f"/teams/acme/automations/{created.json()['id']}",
                              json={"event": {"type": "RUN_METRIC",
                                              "filter": {"metric": "acc", "threshold": 1}}})
    assert patched.status_code == 200, patched.content
    assert patched.json()["event"]["type"] == "RUN_METRIC_THRESHOLD"

    version, _ = Artifact.log_version(project, name="clf", type="model", digest="d",
                                      author=admin)
    registry.link("digits", version, aliases=[], author=admin)
    listed = admin_api.get("/teams/acme/events?type=LINK_MODEL").json()
    assert [e["type"] for e in listed] == ["LINK_ARTIFACT"]
    unknown = admin_api.post("/teams/acme/automations", json={
        "name": "x", "scope": {"type": "registry", "name": "model"},
        "event": {"type": "LINK_MODELS"}, "action": {"type": "WEBHOOK", "integration": "deploy"},
    })
    assert unknown.status_code == 400
    assert "LINK_MODELS" in unknown.content.decode()


@pytest.mark.parametrize(
    ("url", "event_type", "filter", "payload"),
    [
        (reverse("automation_new", kwargs={"slug": "acme", "registry": "model"}),
         "ADD_COLLECTION_TAG", {"filter_tag_regex": "^vision$", "filter_collection": "digits"},
         '{"t": "${tag}", "c": "${artifact_collection_name}"}'),
        (reverse("automation_new", kwargs={"slug": "acme", "registry": "model"}),
         "UNLINK_ARTIFACT", {},
         '{"p": "${project_name}", "v": "${artifact_version_string}"}'),
        (reverse("automation_new", kwargs={"slug": "acme", "project": "mnist"}),
         "REMOVE_ARTIFACT_TAG", {"filter_tag_regex": "^validated$"},
         '{"t": "${tag}", "m": "${artifact_metadata.accuracy}"}'),
    ],
)
def test_the_form_creates_tag_and_unlink_automations(
    admin: User, team: Team, project: Project, registry: Registry, client_for: Clients,
    url: str, event_type: str, filter: dict[str, str], payload: str,
) -> None:
    make_webhook(team)
    client = client_for(admin)
    page = client.get(url).content.decode()
    assert f'value="{event_type}"' in page
    response = client.post(url, {
        "event_type": event_type, **filter, "action_type": "WEBHOOK",
        "webhook_integration": "deploy", "payload": payload, "severity": "INFO",
        "name": "tagged", "enabled": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    automation = Automation.objects.get(name="tagged")
    assert automation.event_type == event_type
    assert automation.filter == {k.removeprefix("filter_"): v for k, v in filter.items()}


def test_the_form_refuses_a_tag_automation_without_its_pattern(
    admin: User, team: Team, registry: Registry, client_for: Clients
) -> None:
    make_webhook(team)
    url = reverse("automation_new", kwargs={"slug": "acme", "registry": "model"})
    response = client_for(admin).post(url, {
        "event_type": "ADD_ARTIFACT_TAG", "action_type": "WEBHOOK",
        "webhook_integration": "deploy", "payload": '{"t": "${alias}"}', "severity": "INFO",
        "name": "tagged", "enabled": "on",
    })
    html = response.content.decode()
    assert "This field is required." in html and "Unknown variable ${alias}" in html
    assert not Automation.objects.exists()


def test_the_catalog_page_lists_every_type_with_its_rules(
    viewer: User, outsider: User, client_for: Clients
) -> None:
    url = reverse("event_catalog", args=["acme"])
    html = client_for(viewer).get(url).content.decode()
    for scope, type in CATALOG:
        assert f'id="{scope}-{type}"' in html
    assert "full window" in html and "needs 3 more values of loss" in html
    assert "<code>LINK_MODEL</code> → <code>LINK_ARTIFACT</code>" in html
    assert "${tag}" in html and "${artifact_metadata.KEY}" in html
    assert client_for(outsider).get(url).status_code == 404


def test_the_form_page_has_one_preset_group_for_its_event(
    admin: User, team: Team, registry: Registry, client_for: Clients
) -> None:
    make_webhook(team)
    url = reverse("automation_new", kwargs={"slug": "acme", "registry": "model"})
    page = client_for(admin).get(url + "?event=UNLINK_ARTIFACT").content.decode()
    assert page.count('id="presets"') == 1 and "hx-swap-oob" not in page
    assert "GitHub Actions (W&amp;B example)" in page
