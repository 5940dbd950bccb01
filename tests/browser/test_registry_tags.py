"""An admin pastes W&B's GitHub Actions example into a registry unlink automation (the
preset follows the chosen event), a member tags and unlinks on the registry page, and
the unlink is delivered."""

from __future__ import annotations

import re
from typing import Any

import pytest

from automations.models import Execution
from projects.models import Artifact, Project
from registries.models import Registry
from teams.models import Integration, Team
from tests.browser.conftest import (
    create_automation,
    login,
    reload_until,
    shoot,
    start_new_automation,
)
from tests.support.qcluster import running_qcluster
from tests.support.receiver import Receiver

pytestmark = pytest.mark.browser


def test_registry_tags_unlink_and_the_wandb_preset(
    page: Any, team: Team, project: Project, registry: Registry, admin: Any,
) -> None:
    with Receiver() as receiver, running_qcluster():
        scenario(page, team, project, registry, admin, receiver)


def scenario(
    page: Any, team: Team, project: Project, registry: Registry, admin: Any, receiver: Receiver
) -> None:
    Integration.objects.create(team=team, kind="webhook", name="deploy",
                               url=receiver.url("/deploy"))
    version, _ = Artifact.log_version(project, name="clf", type="model", digest="d",
                                      metadata={"accuracy": 0.93}, author=admin)
    registry.link("digits", version, aliases=[], author=admin)
    login(page, "alice", "pw-alice")

    # The presets follow the event: collection tags have no version, unlinking has one.
    start_new_automation(page, "/t/acme/r/model/automations/", "registry-tags-tab",
                         "ADD_COLLECTION_TAG")
    page.wait_for_function("() => !document.body.innerText.includes('W&B example')")
    page.select_option("select[name=event_type]", "UNLINK_ARTIFACT")
    preset = page.get_by_role("button", name="GitHub Actions (W&B example)")
    preset.wait_for()
    page.check("input[name=action_type][value=WEBHOOK]")
    page.select_option("select[name=webhook_integration]", "deploy")
    preset.click()
    assert "BUILD_AND_DEPLOY" in page.input_value("textarea[name=payload]")
    page.wait_for_function(
        "() => document.querySelector('#preview').innerText.includes('\"project_name\"')"
    )
    automation = create_automation(page, "on-unlink", "registry-unlink-form")
    assert automation.event_type == "UNLINK_ARTIFACT"

    # Tag the collection, then unlink the version, on the registry page.
    page.goto("/t/acme/r/model/")
    assert page.locator("#id_ct-collection-suggestions option[value=digits]").count() == 1
    page.fill("input[name=ct-collection]", "digits")
    page.fill("input[name=ct-tag]", "vision")
    page.get_by_role("button", name="Add tag").last.click()
    page.wait_for_load_state()
    assert page.get_by_text("Tagged collection digits vision.").is_visible()
    page.get_by_role("button", name="Unlink digits:v0").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile("Unlinked acme/model/digits:v0")).is_visible()
    shoot(page, "registry-after-unlink")

    [request] = receiver.wait_for(1, path="/deploy", timeout=60)
    assert request.json()["client_payload"]["project_name"] == "mnist"
    reload_until(page, lambda: Execution.objects.filter(
        automation=automation, status="finished").exists(), what="the unlink delivered")
