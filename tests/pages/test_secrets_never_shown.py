"""A secret's plaintext never appears in any page, whoever looks and whatever they did."""

from __future__ import annotations

from django.contrib.auth.models import User

from tests.pages.conftest import SECRET_VALUE, SLACK_SECRET_VALUE, Filled, admin_pages, read_pages
from tests.support.web import Clients

ROTATED = "rotated-plaintext-Jk2-never-shown"


def test_no_page_contains_a_secret_value_or_the_signing_secret(
    filled: Filled, admin: User, member: User, viewer: User,
    client_for: Clients,
) -> None:
    admin_client = client_for(admin)
    # Responses to form posts that re-render pages with errors count too.
    posted = [
        admin_client.post("/t/acme/settings/secrets/", {"name": "bad name", "value": ROTATED}),
        admin_client.post(
            f"/t/acme/settings/integrations/{filled.webhook.pk}/",
            {"name": "", "url": "not a url", "access_token_secret": filled.secret.pk},
        ),
        admin_client.post(
            f"/t/acme/settings/secrets/{filled.secret.pk}/rotate/", {"value": ROTATED},
            follow=True,
        ),
    ]
    filled.secret.refresh_from_db()
    assert filled.secret.value == ROTATED  # the rotation happened; its value must not show
    pages = [*read_pages(filled), *admin_pages(filled), "/account/"]
    responses = [admin_client.get(url) for url in pages]
    responses += [client_for(u).get(url) for u in (member, viewer) for url in read_pages(filled)]
    assert all(r.status_code == 200 for r in responses)
    for response in posted + responses:
        html = response.content.decode()
        for value in (SECRET_VALUE, SLACK_SECRET_VALUE, ROTATED, filled.webhook.signing_secret):
            assert value not in html, response.wsgi_request.path
    # The secret names are there, so the pages did list them.
    secrets_page = admin_client.get("/t/acme/settings/secrets/").content.decode()
    assert "ACCESS_TOKEN" in secrets_page and "SLACK_URL" in secrets_page
    assert 'name="value"' in secrets_page and 'value="' + ROTATED not in secrets_page
