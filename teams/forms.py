"""Forms of the account page and Team Settings (members, secrets, integrations)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from teams.models import Integration, Membership, Secret, Team, secret_name_validator

User = get_user_model()


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=128, required=False, help_text="To recognise the key later, e.g. “CI”."
    )


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing Beacon user.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_username(self) -> AbstractBaseUser:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"There is no user “{username}”.")
        if Membership.objects.filter(team=self.team, user=user).exists():
            raise forms.ValidationError(f"{username} is already a member of this team.")
        return user


def is_last_admin(membership: Membership) -> bool:
    """Whether ``membership`` is the only admin left in its team."""
    if membership.role != Membership.Role.ADMIN:
        return False
    return not (
        Membership.objects.filter(team_id=membership.team_id, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role != Membership.Role.ADMIN and is_last_admin(self.membership):
            raise forms.ValidationError("A team needs at least one admin; promote someone first.")
        return role


class SecretValueField(forms.CharField):
    """A password input that is never re-filled: the value is write-only."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.PasswordInput(render_value=False))
        kwargs.setdefault("strip", False)
        kwargs.setdefault("max_length", 65536)
        super().__init__(**kwargs)


class SecretForm(forms.Form):
    name = forms.CharField(
        max_length=128,
        validators=[secret_name_validator],
        help_text="Capital letters, digits and _, e.g. SLACK_WEBHOOK_URL.",
    )
    value = SecretValueField(help_text="Stored encrypted. Nobody can read it back.")

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if Secret.objects.filter(team=self.team, name=name).exists():
            raise forms.ValidationError(f"{name} exists already; rotate it instead.")
        return name


class RotateSecretForm(forms.Form):
    value = SecretValueField(label="New value")


class IntegrationForm(forms.ModelForm):
    """Shared by both kinds: secrets are chosen among the team's, names are unique."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        for name in self.secret_fields:
            field = self.fields[name]
            field.queryset = Secret.objects.filter(team=team).order_by("name")  # type: ignore[attr-defined]
            field.empty_label = "— none —"  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = Integration.objects.filter(team=self.team, name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"An integration named {name} exists already.")
        return name

    def save(self, commit: bool = True) -> Integration:
        self.instance.team = self.team
        return super().save(commit=commit)


class SlackIntegrationForm(IntegrationForm):
    secret_fields = ("webhook_url_secret", "bot_token_secret")

    class Meta:
        model = Integration
        fields = [
            "name", "workspace", "channel", "webhook_url_secret", "bot_token_secret", "channel_id",
        ]
        labels = {
            "webhook_url_secret": "Incoming-webhook URL secret",
            "bot_token_secret": "Bot token secret",
            "channel_id": "Channel id",
        }
        help_texts = {
            "channel": "Shown in Beacon, e.g. #ml-alerts.",
            "webhook_url_secret": "Either an incoming-webhook URL…",
            "bot_token_secret": "…or a bot token (xoxb-…) with the channel id below.",
            "channel_id": "Needed with a bot token, e.g. C0123456789.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        hook, bot = data.get("webhook_url_secret"), data.get("bot_token_secret")
        if hook and bot:
            raise forms.ValidationError(
                "Choose either an incoming-webhook URL secret or a bot token secret, not both."
            )
        if not hook and not bot:
            raise forms.ValidationError(
                "Choose an incoming-webhook URL secret, or a bot token secret and a channel id."
            )
        if bot and not data.get("channel_id"):
            self.add_error("channel_id", "A bot token needs the channel id.")
        if not data.get("channel") and not data.get("channel_id"):
            self.add_error("channel", "Name the channel.")
        return data

    def save(self, commit: bool = True) -> Integration:
        self.instance.kind = Integration.Kind.SLACK
        return super().save(commit=commit)


class WebhookIntegrationForm(IntegrationForm):
    secret_fields = ("access_token_secret", "payload_secret")
    url = forms.URLField(
        label="URL",
        max_length=2048,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
        help_text="Beacon POSTs JSON here, signed with the integration's signing secret.",
    )

    class Meta:
        model = Integration
        fields = ["name", "url", "access_token_secret", "payload_secret", "mlflow_signatures"]
        help_texts = {
            "access_token_secret": "Sent as “Authorization: Bearer …”; usable as ${ACCESS_TOKEN}.",
            "payload_secret": "Usable as ${NAME} in payloads; signs X-Wandb-Signature.",
        }

    def save(self, commit: bool = True) -> Integration:
        self.instance.kind = Integration.Kind.WEBHOOK
        return super().save(commit=commit)


INTEGRATION_FORMS: dict[str, type[IntegrationForm]] = {
    Integration.Kind.SLACK: SlackIntegrationForm,
    Integration.Kind.WEBHOOK: WebhookIntegrationForm,
}
