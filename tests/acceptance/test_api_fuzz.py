"""Regressions found by fuzzing the running API (schemathesis and hand-made requests)
on SQLite and PostgreSQL: bodies Beacon cannot store or compare answer 400 with the
error shape, never 500."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

import pytest
from django.db.models import QuerySet

from automations.events import FilterError, validate_filter
from automations.models import Automation
from automations.validation import validate_automation
from projects.models import Artifact, ArtifactAlias, Run
from registries.models import LinkedAlias
from tests.support.api import assert_error
from tests.support.factories import make_automation, make_webhook

SURROGATE = ["Text must be valid Unicode: unpaired surrogates (\\ud800-\\udfff) are not allowed."]
TOO_LARGE = ["Numbers must be finite and at most 1.7976931348623157e308 in size."]


def raw_post(api: Any, path: str, body: str) -> Any:
    return api.post(path, data=body, content_type="application/json")


def automation_body(name: str, threshold: Any) -> dict[str, Any]:
    return {
        "name": name,
        "scope": {"type": "project", "name": "mnist"},
        "event": {
            "type": "RUN_METRIC_THRESHOLD",
            "filter": {"metric": "loss", "window": 1, "agg": "max", "cmp": "gt",
                       "threshold": threshold},
        },
        "action": {"type": "WEBHOOK", "integration": "deploy", "payload": {"t": "x"}},
    }


def test_an_unpaired_surrogate_in_free_form_json_is_a_400(
    member_api: Any, project: Any, team: Any
) -> None:
    # json.dumps escapes it as \ud800; PostgreSQL jsonb refuses it (a 500 before).
    runs = f"/teams/{team.slug}/projects/{project.name}/runs"
    artifacts = f"/teams/{team.slug}/projects/{project.name}/artifacts"

    responses = [
        member_api.post(runs, json={"config": {"k": "\ud800"}}),
        member_api.post(runs, json={"config": {"a\udfffb": 1}}),
        member_api.post(artifacts, json={"name": "m", "type": "model", "digest": "d",
                                         "metadata": {"\ud800": 1}}),
        # Encoded raw, the way CESU-8 does: json.loads decodes it to a lone surrogate.
        raw_post(member_api, runs, '{"config": {"k": "\xed\xa0\x80"}}'.encode("latin-1")),
    ]

    for response in responses:
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"body": SURROGATE}
    assert not Run.objects.exists() and not Artifact.objects.exists()


def test_an_unpaired_surrogate_in_an_automation_or_integration_is_a_400(
    admin_api: Any, project: Any, team: Any
) -> None:
    make_webhook(team, "http://127.0.0.1:9/hook")
    created = admin_api.post(f"/teams/{team.slug}/automations",
                             json=automation_body("spike", 1))
    assert created.status_code == 201, created.content
    automation = f"/teams/{team.slug}/automations/{created.json()['id']}"

    responses = [
        admin_api.patch(automation, json={"description": "\ud800"}),
        admin_api.patch(automation, json={"name": "\udc00"}),
        admin_api.post(f"/teams/{team.slug}/integrations",
                       json={"kind": "webhook", "name": "x", "url": "https://h.example/\ud800"}),
        admin_api.post(f"/teams/{team.slug}/integrations/deploy/test",
                       json={"payload": {"a": "\ud800"}}),
    ]

    for response in responses:
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"body": SURROGATE}
    assert Automation.objects.get().description == ""


def test_paired_surrogates_are_ordinary_text(member_api: Any, project: Any, team: Any) -> None:
    body = json.dumps({"id": "r1", "config": {"emoji": "\U0001f600"}})  # "\ud83d\ude00"
    assert "\\ud83d\\ude00" in body

    response = raw_post(member_api, f"/teams/{team.slug}/projects/{project.name}/runs", body)

    assert response.status_code == 201, response.content
    assert Run.objects.get(run_id="r1").config == {"emoji": "\U0001f600"}


def test_an_integer_beyond_a_double_is_a_400(admin_api: Any, project: Any, team: Any) -> None:
    make_webhook(team, "http://127.0.0.1:9/hook")
    huge = "1" + "0" * 400

    threshold = raw_post(admin_api, f"/teams/{team.slug}/automations",
                         json.dumps(automation_body("spike", 0)).replace(
                             '"threshold": 0', f'"threshold": -{huge}'))
    config = raw_post(admin_api, f"/teams/{team.slug}/projects/{project.name}/runs",
                      f'{{"config": {{"k": {huge}}}}}')

    for response in (threshold, config):
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"body": TOO_LARGE}
    assert not Automation.objects.exists() and not Run.objects.exists()


def test_integers_beyond_64_bits_but_within_a_double_still_work(
    admin_api: Any, project: Any, team: Any
) -> None:
    make_webhook(team, "http://127.0.0.1:9/hook")

    created = admin_api.post(f"/teams/{team.slug}/automations",
                             json=automation_body("spike", 2**70))
    run = admin_api.post(f"/teams/{team.slug}/projects/{project.name}/runs",
                         json={"config": {"seed": 2**70}})

    assert created.status_code == 201, created.content
    assert created.json()["event"]["filter"]["threshold"] == float(2**70)
    assert run.status_code == 201, run.content


def test_a_bare_nan_in_an_integration_test_payload_is_a_400(admin_api: Any, team: Any) -> None:
    make_webhook(team, "http://127.0.0.1:9/hook")

    response = raw_post(admin_api, f"/teams/{team.slug}/integrations/deploy/test",
                        '{"payload": {"loss": NaN}}')

    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("threshold", [10**400, -(10**400)], ids=["huge", "-huge"])
def test_a_filter_threshold_beyond_a_double_is_a_filter_error(threshold: int) -> None:
    raw = {"metric": "loss", "window": 1, "agg": "max", "cmp": "gt", "threshold": threshold}

    with pytest.raises(FilterError) as caught:
        validate_filter("project", "RUN_METRIC_THRESHOLD", raw)

    assert "threshold" in caught.value.fields


def _first_misses_the_alias_once() -> Any:
    """``QuerySet.first`` that misses one alias row: what a request sees when a
    concurrent one inserts the same alias between its check and its insert."""
    real_first = QuerySet.first
    missed: list[Any] = []

    def first(queryset: QuerySet) -> Any:
        if queryset.model in (ArtifactAlias, LinkedAlias) and not missed:
            missed.append(queryset)
            return None
        return real_first(queryset)

    return patch.object(QuerySet, "first", autospec=True, side_effect=first)


def test_adding_an_alias_another_request_just_added_moves_it(
    project: Any, registry: Any, member: Any
) -> None:
    # Two concurrent alias requests on PostgreSQL: the loser's insert hit the unique
    # constraint and answered 500.
    v0 = Artifact.log_version(project, name="m", type="model", digest="a", author=member)[0]
    v1 = Artifact.log_version(project, name="m", type="model", digest="b", author=member)[0]
    v0.add_alias("prod", member)
    linked = [registry.link("clf", v, aliases=[], author=member) for v in (v0, v1)]
    linked[0].add_alias("staging", member)

    with _first_misses_the_alias_once():
        assert v1.add_alias("prod", member) is True
    with _first_misses_the_alias_once():
        assert linked[1].add_alias("staging", member) is True
    with _first_misses_the_alias_once():
        assert v1.add_alias("prod", member) is False  # already there: nothing to move

    assert ArtifactAlias.objects.get(alias="prod").version == v1
    assert LinkedAlias.objects.get(alias="staging").version == linked[1]


def test_openapi_documents_the_error_shape_for_every_operation(client: Any, db: Any) -> None:
    # schemathesis flagged every 400/401/403/404/409 as an undocumented status.
    document = client.get("/api/v1/openapi.json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "404", "429"}
            if path not in ("/api/v1/health", "/api/v1/ready"):  # probes need no key
                expected |= {"401", "403"}
            if method != "get":
                expected.add("409")
            assert expected <= set(responses), (method, path)
            assert all(responses[s]["content"] == error for s in expected), (method, path)


def test_openapi_path_parameters_carry_the_name_rules(client: Any, db: Any) -> None:
    # Without them a fuzzer sends names the API must refuse, as "valid" requests.
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    def parameter(path: str, method: str, name: str) -> dict[str, Any]:
        found = [p for p in paths[path][method]["parameters"] if p["name"] == name]
        return found[0]["schema"]

    runs = "/api/v1/teams/{team}/projects/{project}/runs/{run}"
    assert parameter(runs, "get", "run")["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
    assert parameter(runs, "get", "team")["maxLength"] == 64
    assert parameter("/api/v1/teams/{team}/secrets/{name}", "put", "name")["pattern"] == (
        r"^[A-Z_][A-Z0-9_]*$"
    )
    assert parameter("/api/v1/teams/{team}/integrations/{name}", "get", "name")["maxLength"] == 128
    limit = parameter("/api/v1/teams/{team}/events", "get", "limit")
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    assert parameter("/api/v1/teams/{team}/events", "get", "offset")["minimum"] == 0


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_name_taken_by_a_concurrent_request_is_a_409(
    admin_api: Any, project: Any, team: Any, method: str
) -> None:
    # Eight concurrent creates of one name on PostgreSQL: one answered 400, not 409,
    # when the name was taken between the API's check and validation's.
    hook = make_webhook(team, "http://127.0.0.1:9/hook")
    other = make_automation(project, hook, event_type="RUN_STATE", name="other",
                            filter={"states": ["failed"]})

    def taken_meanwhile(*args: Any, **kwargs: Any) -> Any:
        make_automation(project, hook, event_type="RUN_STATE", name="spike",
                        filter={"states": ["failed"]})
        return validate_automation(*args, **kwargs)

    with patch("automations.api.validate_automation", autospec=True,
               side_effect=taken_meanwhile):
        if method == "post":
            response = admin_api.post(f"/teams/{team.slug}/automations",
                                      json=automation_body("spike", 1))
        else:
            response = admin_api.patch(f"/teams/{team.slug}/automations/{other.pk}",
                                       json={"name": "spike"})

    error = assert_error(response, 409, "conflict")
    assert error["fields"] == {"name": ["This name is taken."]}
    assert Automation.objects.get(pk=other.pk).name == "other"


def nested(depth: int, leaf: str) -> str:
    return '{"a": ' * depth + leaf + "}" * depth


def test_deeply_nested_json_is_a_400_and_moderate_nesting_still_works(
    admin_api: Any, project: Any, team: Any
) -> None:
    # The text checks walked nested bodies recursively: an integration test payload
    # 400 levels deep holding an emoji (escaped as a surrogate pair) answered 500.
    make_webhook(team, "http://127.0.0.1:9/hook")
    test = f"/teams/{team.slug}/integrations/deploy/test"
    runs = f"/teams/{team.slug}/projects/{project.name}/runs"

    moderate = raw_post(admin_api, test, '{"payload": ' + nested(400, '"\\ud83d\\ude00"') + "}")
    too_deep = [
        raw_post(admin_api, test, '{"payload": ' + nested(5000, "1") + "}"),
        raw_post(admin_api, runs, '{"config": ' + nested(5000, "1") + "}"),
    ]

    assert moderate.status_code == 200, moderate.content
    for response in too_deep:
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"body": [
            "The JSON nests too deeply; keep objects and arrays under a few hundred levels."
        ]}


def test_an_offset_beyond_64_bits_is_an_empty_page(admin_api: Any, project: Any, team: Any) -> None:
    # PostgreSQL: "bigint out of range" for OFFSET; SQLite: OverflowError — a 500 on both.
    hook = make_webhook(team, "http://127.0.0.1:9/hook")
    automation = make_automation(project, hook, event_type="RUN_STATE",
                                 filter={"states": ["failed"]})
    huge = 10**26

    events = admin_api.get(f"/teams/{team.slug}/events?offset={huge}")
    executions = admin_api.get(f"/teams/{team.slug}/automations/{automation.pk}/executions"
                               f"?offset={huge}")
    last = admin_api.get(f"/teams/{team.slug}/events?offset={2**62}&limit=200")

    for response in (events, executions, last):
        assert response.status_code == 200, response.content
        assert response.json() == []
