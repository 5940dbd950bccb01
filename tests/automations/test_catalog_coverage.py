"""Every event type of the catalog, in each of its scopes, with each action kind, is
rendered, matched and delivered through the real pipeline (emit → process → deliver with
the real HTTP send) to a loopback receiver or a fake Slack — first on its sample event
(the Test button), then on a real event made by the domain. Parametrised by the catalog
itself: a new event type without a trigger here fails ``test_every_catalog_entry_has_a_trigger``
and its own cases."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from automations import dispatch, operations
from automations.events import CATALOG, get_spec
from automations.models import Event, Execution
from automations.templating import METADATA_PREFIX
from automations.variables import allowed_variables
from projects.models import Artifact, ArtifactVersion, Project, Run
from registries.models import LinkedVersion, Registry
from teams.models import Integration
from tests.support.factories import make_automation, make_slack, make_webhook
from tests.support.fake_slack import FakeSlack
from tests.support.receiver import Receiver

METADATA = {"accuracy": 0.9}


def _version(project: Project, user: User, aliases: list[str] | None = None) -> ArtifactVersion:
    version, _ = Artifact.log_version(project, name="clf", type="model", digest="d1",
                                      metadata=METADATA, aliases=aliases or [], author=user)
    return version


def _linked(project: Project, registry: Registry, user: User,
            aliases: list[str] | None = None) -> LinkedVersion:
    return registry.link("digits", _version(project, user), aliases=aliases or [], author=user)


def _history(values: list[float]) -> Callable[[Project, Registry, User], None]:
    def log(project: Project, registry: Registry, user: User) -> None:
        run = Run.start(project, author=user, run_id="r1")
        run.log_history([(step, {"loss": v}) for step, v in enumerate(values)], user)
    return log


def _tag_then(remove: bool, target: str) -> Callable[[Project, Registry, User], None]:
    def act(project: Project, registry: Registry, user: User) -> None:
        if target == "version":
            obj: Any = _version(project, user)
        else:
            linked = _linked(project, registry, user)
            obj = linked if target == "linked" else linked.collection
        obj.add_tag("validated", user)
        if remove:
            obj.remove_tag("validated", user)
    return act


# (scope, type) → (a filter that the real event matches, the domain action making it)
TRIGGERS: dict[tuple[str, str], tuple[dict[str, Any], Callable[[Project, Registry, User], Any]]] = {
    ("project", "RUN_STATE"): (
        {"states": ["failed"]},
        lambda p, r, u: Run.start(p, author=u, run_id="r1").set_state("crashed", u),
    ),
    ("project", "RUN_METRIC_THRESHOLD"): (
        {"metric": "loss", "window": 2, "cmp": "gt", "threshold": 1.0}, _history([2.0, 3.0])),
    ("project", "RUN_METRIC_CHANGE"): (
        {"metric": "loss", "window": 2, "prior_window": 2, "change_type": "absolute",
         "amount": 1.0}, _history([1.0, 1.0, 5.0, 5.0])),
    ("project", "RUN_METRIC_ZSCORE"): (
        {"metric": "loss", "window": 3, "threshold": 2.0}, _history([1.0, 2.0, 1.0, 50.0])),
    ("project", "CREATE_ARTIFACT"): (
        {"artifact_type": "model"}, lambda p, r, u: _version(p, u)),
    ("project", "ADD_ARTIFACT_ALIAS"): (
        {"alias_regex": "^prod"}, lambda p, r, u: _version(p, u, ["production"])),
    ("project", "ADD_ARTIFACT_TAG"): (
        {"tag_regex": "^validated$", "artifact_name_regex": "^clf$"},
        _tag_then(False, "version")),
    ("project", "REMOVE_ARTIFACT_TAG"): ({"tag_regex": "valid"}, _tag_then(True, "version")),
    ("registry", "LINK_ARTIFACT"): ({"collection": "digits"}, lambda p, r, u: _linked(p, r, u)),
    ("registry", "ADD_ARTIFACT_ALIAS"): (
        {"alias_regex": "^staging$"}, lambda p, r, u: _linked(p, r, u, ["staging"])),
    ("registry", "UNLINK_ARTIFACT"): (
        {"collection": "digits"}, lambda p, r, u: _linked(p, r, u).unlink(u)),
    ("registry", "ADD_ARTIFACT_TAG"): (
        {"tag_regex": "^validated$", "collection": "digits"}, _tag_then(False, "linked")),
    ("registry", "REMOVE_ARTIFACT_TAG"): ({"tag_regex": "^validated$"}, _tag_then(True, "linked")),
    ("registry", "ADD_COLLECTION_TAG"): (
        {"tag_regex": "^validated$", "collection": "digits"}, _tag_then(False, "collection")),
    ("registry", "REMOVE_COLLECTION_TAG"): (
        {"tag_regex": "^validated$"}, _tag_then(True, "collection")),
}


def test_every_catalog_entry_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(CATALOG)


def every_variable(scope: str, type: str) -> dict[str, str]:
    names = [n + "accuracy" if n == METADATA_PREFIX else n for n in allowed_variables(scope, type)]
    return {n: "${" + n + "}" for n in names}


@pytest.fixture
def slack_server() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.mark.parametrize("action", ["WEBHOOK", "SLACK_NOTIFICATION"])
@pytest.mark.parametrize(("scope", "type"), sorted(CATALOG))
def test_every_event_type_renders_matches_and_delivers(
    scope: str, type: str, action: str, project: Project, registry: Registry, admin: User,
    receiver: Receiver, slack_server: FakeSlack, settings: Any,
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    filter, trigger = TRIGGERS[(scope, type)]
    wanted = every_variable(scope, type)
    integration: Integration
    if action == "WEBHOOK":
        integration = make_webhook(project.team, receiver.url("/hook"))
        config: dict[str, Any] = {"payload": {"vars": wanted}}
    else:
        integration = make_slack(project.team, webhook_url=slack_server.webhook_url())
        config = {"title": "${event_type} for ${automation_name}",
                  "message": "\n".join(f"{k}={v}" for k, v in wanted.items()),
                  "severity": "WARN"}
    automation = make_automation(project if scope == "project" else registry, integration,
                                 event_type=type, filter=filter, name="every", config=config)

    def delivered(count: int) -> dict[str, str]:
        """The variables as the receiver got them in delivery number ``count``."""
        if action == "WEBHOOK":
            body = receiver.wait_for(count, path="/hook")[-1].json()
            return body["vars"]
        message = slack_server.wait_for_messages(count)[-1]
        text = json.dumps(message)
        assert f"{type} for every" in text
        assert "${" not in text
        return {}

    # The Test button, before any real event: the catalog's sample event.
    tested = operations.run_test(automation, admin)
    assert tested.status == Execution.Status.FINISHED, tested.error
    sample = delivered(1)
    if action == "WEBHOOK":
        assert set(sample) == set(wanted) and "${" not in json.dumps(sample)
        assert sample["event_type"] == type

    # A real event made by the domain: matched, rendered, delivered once.
    trigger(project, registry, admin)
    spec = get_spec(scope, type)
    event = Event.objects.filter(type=spec.source).latest("pk")
    [execution] = dispatch.process(event)
    assert execution.automation == automation and execution.match["matched"] is True
    done = dispatch.deliver_execution(execution.pk)
    assert done is not None and done.status == Execution.Status.FINISHED, done and done.error
    got = delivered(2)
    if action == "WEBHOOK":
        assert "${" not in json.dumps(got)
        assert got["event_type"] == type
        assert got["entity_name"] == "acme"
        if scope == "registry":
            assert got["registry_name"] == "model"
        if spec.is_artifact_event or scope == "project":
            assert got["project_name"] == "mnist"  # registry scope: the source project
        if spec.is_tag_event:
            assert got["tag"] == "validated"
        if spec.is_artifact_event:
            assert got["artifact_metadata.accuracy"] == "0.9"
        if spec.is_metric_event:
            assert got["metric_name"] == "loss" and got["metric_value"] not in ("", "NaN")
