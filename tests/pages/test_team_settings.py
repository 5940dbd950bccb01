"""Team Settings: members, secrets and integrations do what their forms say."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User

from automations.models import Automation
from teams.models import Integration, Membership, Secret
from tests.pages.conftest import SECRET_VALUE, Filled
from tests.support.web import Clients


def messages_of(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


# Members


def test_admin_adds_an_existing_user_with_a_role(
    filled: Filled, admin: User, make_user: Callable[..., User], client_for: Clients
) -> None:
    newbie = make_user("newbie")
    response = client_for(admin).post(
        "/t/acme/settings/", {"username": "newbie", "role": "viewer"}, follow=True
    )
    assert Membership.objects.get(team=filled.team, user=newbie).role == "viewer"
    assert "newbie joined as viewer." in messages_of(response)


def test_adding_an_unknown_user_shows_an_inline_error(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post("/t/acme/settings/", {"username": "ghost", "role": "member"})
    assert response.status_code == 200
    assert "There is no user “ghost”." in response.content.decode()
    assert not Membership.objects.filter(user__username="ghost").exists()


def test_adding_a_member_twice_is_refused(
    filled: Filled, admin: User, member: User, client_for: Clients
) -> None:
    response = client_for(admin).post("/t/acme/settings/", {"username": "mia", "role": "admin"})
    assert "already a member" in response.content.decode()
    assert Membership.objects.get(team=filled.team, user=member).role == "member"


def test_admin_changes_a_role(
    filled: Filled, admin: User, member: User, client_for: Clients
) -> None:
    m = Membership.objects.get(team=filled.team, user=member)
    client_for(admin).post(f"/t/acme/settings/members/{m.pk}/role/", {"role": "admin"})
    m.refresh_from_db()
    assert m.role == "admin"


def test_the_last_admin_cannot_be_demoted_or_removed(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    m = Membership.objects.get(team=filled.team, user=admin)
    client = client_for(admin)
    response = client.post(
        f"/t/acme/settings/members/{m.pk}/role/", {"role": "member"}, follow=True
    )
    assert any("at least one admin" in msg for msg in messages_of(response))
    response = client.post(f"/t/acme/settings/members/{m.pk}/remove/", follow=True)
    assert any("at least one admin" in msg for msg in messages_of(response))
    m.refresh_from_db()
    assert m.role == "admin"


def test_an_admin_can_step_down_when_another_admin_exists(
    filled: Filled, admin: User, member: User, client_for: Clients
) -> None:
    Membership.objects.filter(team=filled.team, user=member).update(role="admin")
    m = Membership.objects.get(team=filled.team, user=admin)
    client_for(admin).post(f"/t/acme/settings/members/{m.pk}/role/", {"role": "viewer"})
    m.refresh_from_db()
    assert m.role == "viewer"


def test_admin_removes_a_member(
    filled: Filled, admin: User, viewer: User, client_for: Clients
) -> None:
    m = Membership.objects.get(team=filled.team, user=viewer)
    client_for(admin).post(f"/t/acme/settings/members/{m.pk}/remove/")
    assert not Membership.objects.filter(pk=m.pk).exists()
    assert client_for(viewer).get("/t/acme/").status_code == 404


def test_members_cannot_manage_members(
    filled: Filled, member: User, viewer: User, client_for: Clients
) -> None:
    m = Membership.objects.get(team=filled.team, user=viewer)
    client = client_for(member)
    assert client.post("/t/acme/settings/", {"username": "vic", "role": "x"}).status_code == 403
    role_url = f"/t/acme/settings/members/{m.pk}/role/"
    assert client.post(role_url, {"role": "admin"}).status_code == 403
    assert client.post(f"/t/acme/settings/members/{m.pk}/remove/").status_code == 403
    m.refresh_from_db()
    assert m.role == "viewer"


# Secrets


def test_admin_creates_a_secret_and_never_sees_it_again(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    response = client.post(
        "/t/acme/settings/secrets/", {"name": "NEW_TOKEN", "value": "tok-Unique-123"}, follow=True
    )
    assert Secret.objects.get(team=filled.team, name="NEW_TOKEN").value == "tok-Unique-123"
    html = response.content.decode()
    assert "NEW_TOKEN" in html
    assert "tok-Unique-123" not in html


def test_a_bad_secret_name_is_an_inline_error_and_the_value_is_not_refilled(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post(
        "/t/acme/settings/secrets/", {"name": "lower-case", "value": "refill-me-NOT-42"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "capital letters" in html
    assert "refill-me-NOT-42" not in html
    assert not Secret.objects.filter(name="lower-case").exists()


def test_a_duplicate_secret_name_is_refused(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post(
        "/t/acme/settings/secrets/", {"name": "ACCESS_TOKEN", "value": "other"}
    )
    assert "rotate it instead" in response.content.decode()
    filled.secret.refresh_from_db()
    assert filled.secret.value == SECRET_VALUE


def test_admin_rotates_a_secret(filled: Filled, admin: User, client_for: Clients) -> None:
    before = filled.secret.updated_at
    client_for(admin).post(
        f"/t/acme/settings/secrets/{filled.secret.pk}/rotate/", {"value": "rotated-Val-77"}
    )
    filled.secret.refresh_from_db()
    assert filled.secret.value == "rotated-Val-77"
    assert filled.secret.updated_at > before


def test_rotating_to_nothing_is_refused(filled: Filled, admin: User, client_for: Clients) -> None:
    response = client_for(admin).post(
        f"/t/acme/settings/secrets/{filled.secret.pk}/rotate/", {"value": ""}, follow=True
    )
    assert any("Enter the new value" in m for m in messages_of(response))
    filled.secret.refresh_from_db()
    assert filled.secret.value == SECRET_VALUE


def test_deleting_a_secret_in_use_is_refused_with_the_integration_named(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post(
        f"/t/acme/settings/secrets/{filled.secret.pk}/delete/", follow=True
    )
    assert any("used by deploy" in m for m in messages_of(response))
    assert Secret.objects.filter(pk=filled.secret.pk).exists()


def test_admin_deletes_an_unused_secret(filled: Filled, admin: User, client_for: Clients) -> None:
    spare = Secret.objects.create(team=filled.team, name="SPARE", value="x")
    client_for(admin).post(f"/t/acme/settings/secrets/{spare.pk}/delete/")
    assert not Secret.objects.filter(pk=spare.pk).exists()


def test_members_cannot_manage_secrets(filled: Filled, member: User, client_for: Clients) -> None:
    client = client_for(member)
    pk = filled.secret.pk
    assert client.post("/t/acme/settings/secrets/", {"name": "X", "value": "y"}).status_code == 403
    assert client.post(f"/t/acme/settings/secrets/{pk}/rotate/", {"value": "y"}).status_code == 403
    assert client.post(f"/t/acme/settings/secrets/{pk}/delete/").status_code == 403
    filled.secret.refresh_from_db()
    assert filled.secret.value == SECRET_VALUE
    assert not Secret.objects.filter(name="X").exists()


def test_another_teams_secret_is_404(
    filled: Filled, outsider: User, client_for: Clients
) -> None:
    url = f"/t/globex/settings/secrets/{filled.secret.pk}/delete/"
    assert client_for(outsider).post(url).status_code == 404
    assert Secret.objects.filter(pk=filled.secret.pk).exists()


# Integrations


def test_admin_creates_a_slack_integration_with_a_bot_token(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    bot = Secret.objects.create(team=filled.team, name="SLACK_BOT", value="xoxb-1")
    response = client_for(admin).post(
        "/t/acme/settings/integrations/new/slack/",
        {"name": "bot-alerts", "workspace": "acme", "channel": "#ops",
         "bot_token_secret": bot.pk, "channel_id": "C123"},
    )
    assert response.status_code == 302
    i = Integration.objects.get(team=filled.team, name="bot-alerts")
    assert (i.kind, i.slack_mode, i.channel_id, i.bot_token_secret) == ("slack", "bot", "C123", bot)


def test_slack_needs_exactly_one_way_to_deliver(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    url = "/t/acme/settings/integrations/new/slack/"
    base = {"name": "x", "workspace": "acme", "channel": "#ops"}
    none = client.post(url, base)
    assert "Choose an incoming-webhook URL secret" in none.content.decode()
    both = client.post(url, {**base, "webhook_url_secret": filled.slack_secret.pk,
                             "bot_token_secret": filled.secret.pk, "channel_id": "C1"})
    assert "not both" in both.content.decode()
    bot_without_channel = client.post(url, {**base, "bot_token_secret": filled.secret.pk})
    assert "needs the channel id" in bot_without_channel.content.decode()
    assert not Integration.objects.filter(name="x").exists()


def test_secrets_of_another_team_cannot_be_attached(
    filled: Filled, admin: User, other_team: object, client_for: Clients
) -> None:
    foreign = Secret.objects.create(team=other_team, name="THEIRS", value="t")  # type: ignore[misc]
    response = client_for(admin).post(
        "/t/acme/settings/integrations/new/webhook/",
        {"name": "steal", "url": "https://x.example/", "access_token_secret": foreign.pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Integration.objects.filter(name="steal").exists()


def test_admin_creates_edits_and_deletes_a_webhook(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    client.post(
        "/t/acme/settings/integrations/new/webhook/",
        {"name": "ci", "url": "https://ci.example.com/hook", "payload_secret": filled.secret.pk},
    )
    hook = Integration.objects.get(team=filled.team, name="ci")
    assert hook.kind == "webhook" and hook.signing_secret.startswith("whsec_")
    assert hook.payload_secret == filled.secret
    signing = hook.signing_secret

    client.post(f"/t/acme/settings/integrations/{hook.pk}/",
                {"name": "ci2", "url": "https://ci.example.com/v2", "payload_secret": ""})
    hook.refresh_from_db()
    assert (hook.name, hook.url, hook.payload_secret) == ("ci2", "https://ci.example.com/v2", None)
    assert hook.signing_secret == signing

    client.post(f"/t/acme/settings/integrations/{hook.pk}/delete/")
    assert not Integration.objects.filter(pk=hook.pk).exists()


def test_a_duplicate_integration_name_is_refused(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post(
        "/t/acme/settings/integrations/new/webhook/",
        {"name": "deploy", "url": "https://x.example.com/"},
    )
    assert "exists already" in response.content.decode()


def test_an_integration_used_by_an_automation_is_not_deleted(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    Automation.objects.create(
        team=filled.team, name="ship-it", scope_type="project", project=filled.project,
        event_type="RUN_STATE", action_type="WEBHOOK", integration=filled.webhook,
    )
    response = client_for(admin).post(
        f"/t/acme/settings/integrations/{filled.webhook.pk}/delete/", follow=True
    )
    assert any("ship-it" in m for m in messages_of(response))
    assert Integration.objects.filter(pk=filled.webhook.pk).exists()


def test_the_signing_secret_is_shown_only_on_request(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    url = f"/t/acme/settings/integrations/{filled.webhook.pk}/"
    page = client.get(url).content.decode()
    assert filled.webhook.signing_secret not in page
    assert "Reveal signing secret" in page
    revealed = client.post(url + "reveal/")
    assert revealed.status_code == 200
    assert filled.webhook.signing_secret in revealed.content.decode()


def test_only_admins_reveal_the_signing_secret(
    filled: Filled, member: User, client_for: Clients
) -> None:
    response = client_for(member).post(
        f"/t/acme/settings/integrations/{filled.webhook.pk}/reveal/"
    )
    assert response.status_code == 403
    assert filled.webhook.signing_secret not in response.content.decode()


def test_members_cannot_manage_integrations(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    new = client.post("/t/acme/settings/integrations/new/webhook/",
                      {"name": "m", "url": "https://m.example.com/"})
    assert new.status_code == 403
    edit = client.post(f"/t/acme/settings/integrations/{filled.webhook.pk}/",
                       {"name": "hacked", "url": "https://evil.example.com/"})
    assert edit.status_code == 403
    delete_url = f"/t/acme/settings/integrations/{filled.webhook.pk}/delete/"
    assert client.post(delete_url).status_code == 403
    filled.webhook.refresh_from_db()
    assert filled.webhook.name == "deploy"
    assert not Integration.objects.filter(name="m").exists()
