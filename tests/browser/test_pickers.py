"""A member picks versions on the artifact and registry pages by typing them, helped by
the newest ones the browser suggests (a <datalist>, no script), under the enforced
Content-Security-Policy: a typo is a form error next to the field, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from projects.models import Artifact, Project
from registries.models import Registry
from teams.widgets import SUGGESTED
from tests.browser.conftest import login, shoot

pytestmark = pytest.mark.browser


def test_a_member_types_versions_on_the_artifact_and_registry_pages(
    page: Any, project: Project, registry: Registry, admin: Any, member: Any
) -> None:
    for i in range(SUGGESTED + 5):
        Artifact.log_version(project, name="clf", type="model", digest=f"d{i}",
                             metadata={}, aliases=["latest"], author=admin)
    login(page, "mia", "pw-mia")

    page.goto("/t/acme/p/mnist/artifacts/clf/")
    version = page.get_by_label("Version").first
    assert version.get_attribute("list") == "id_version-suggestions"
    assert version.get_attribute("placeholder") == f"e.g. v{SUGGESTED + 4}"
    options = page.locator("#id_version-suggestions option")
    assert options.count() == SUGGESTED
    assert options.first.get_attribute("value") == f"v{SUGGESTED + 4}"

    version.fill("v99")
    page.get_by_label("Alias", exact=True).fill("golden")
    page.get_by_role("button", name="Add alias").click()
    page.wait_for_load_state()
    error = page.locator(".field-error .errorlist").first
    assert "clf has no version or alias “v99”" in error.inner_text()
    shoot(page, "artifact-picker-error")
    assert page.get_by_label("Version").first.input_value() == "v99"  # kept to fix it

    page.get_by_label("Version").first.fill("v3")
    page.get_by_label("Alias", exact=True).fill("golden")
    page.get_by_role("button", name="Add alias").click()
    page.wait_for_load_state()
    assert page.get_by_text("golden now points at v3.").is_visible()

    page.goto("/t/acme/r/model/")
    assert page.locator("#id_source-suggestions option").count() == SUGGESTED
    page.get_by_label("Artifact version").fill("mnist/clf:golden")
    page.get_by_label("Collection", exact=True).first.fill("digits")
    page.get_by_role("button", name="Link", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Linked acme/mnist/clf:v3 as acme/model/digits:v0.").is_visible()

    assert page.locator("#id_linked-suggestions option[value='digits:v0']").count() == 1
    page.locator("#id_linked").fill("digits:v0")
    page.locator("#id_alias").fill("production")
    page.get_by_role("button", name="Add alias").click()
    page.wait_for_load_state()
    assert page.get_by_text("production now points at digits:v0.").is_visible()
    shoot(page, "registry-pickers")
