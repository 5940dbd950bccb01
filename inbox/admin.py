from __future__ import annotations

from django.contrib import admin

from inbox.models import Inbox, InboxRequest


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_at"]
    list_filter = ["team"]
    readonly_fields = ["token"]


@admin.register(InboxRequest)
class InboxRequestAdmin(admin.ModelAdmin):
    list_display = ["inbox", "method", "received_at", "size", "signature", "signed_by"]
    list_filter = ["signature", "inbox__team"]
    exclude = ["body"]
    readonly_fields = [
        "inbox", "received_at", "method", "query", "remote_addr", "headers", "size",
        "signature", "signed_by",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False
