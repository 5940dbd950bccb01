"""The Automations tab of projects and registries, in the browser."""

from __future__ import annotations

from automations.views.actions import automation_delete, automation_test, automation_toggle
from automations.views.catalog import event_catalog
from automations.views.editor import automation_edit, automation_new, filter_fields, preview
from automations.views.executions import execution_detail, execution_redeliver
from automations.views.lists import automation_detail, automation_list, scope_history

__all__ = [
    "automation_delete",
    "automation_detail",
    "automation_edit",
    "automation_list",
    "automation_new",
    "automation_test",
    "automation_toggle",
    "event_catalog",
    "execution_detail",
    "execution_redeliver",
    "filter_fields",
    "preview",
    "scope_history",
]
