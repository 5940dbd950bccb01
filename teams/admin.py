"""Django admin for teams. Secret values and signing secrets are never shown."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from teams.models import ApiKey, Integration, Membership, Secret, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__slug"]
    autocomplete_fields = ["user", "team"]


class SecretAdminForm(forms.ModelForm):
    """The value is write-only: a password input that sets it and is never re-filled."""

    new_value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["team", "name"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.pk and not data.get("new_value"):
            self.add_error("new_value", "A new secret needs a value.")
        return data

    def save(self, commit: bool = True) -> Secret:
        value = self.cleaned_data.get("new_value")
        if value:
            self.instance.value = value
        return super().save(commit=commit)


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretAdminForm
    list_display = ["name", "team", "created_at", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "team__slug"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["team", "name", "new_value", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Secret, form: Any, change: bool) -> None:
        if change and form.cleaned_data.get("new_value"):
            obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "team", "target", "created_at", "updated_at"]
    list_filter = ["kind", "team"]
    search_fields = ["name", "team__slug", "url", "channel"]
    # The signing secret stays hidden here too; admins reveal it in Team Settings.
    exclude = ["signing_secret"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["created_at", "updated_at"]
    autocomplete_fields = [
        "team", "webhook_url_secret", "bot_token_secret", "access_token_secret", "payload_secret",
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["hashed_key"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are issued on the account page or with `create_api_key`, where they are shown once.
        return False
