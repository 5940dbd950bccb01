"""The guided automation form: event, its filter fields (generated from the catalog),
action, then name. Validation is ``automations.validation.validate_automation``; this
form turns what the browser sent into that API-shaped body and maps errors back."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db import IntegrityError, transaction
from django.http import QueryDict

from automations import events
from automations.events import EventSpec, FilterField
from automations.models import Automation
from automations.validation import MAX_THROTTLE_MINUTES
from teams.models import Integration, Team

FILTER_PREFIX = "filter_"
SEVERITIES = [("INFO", "Info"), ("WARN", "Warning"), ("ERROR", "Error")]
CHOICE_LABELS = {
    "gt": "> greater than",
    "gte": "≥ greater than or equal",
    "lt": "< less than",
    "lte": "≤ less than or equal",
    "eq": "= equal to",
    "ne": "≠ not equal to",
    "nonfinite": "is NaN or ±infinity",
    "avg": "average",
    "min": "minimum",
    "max": "maximum",
    "relative": "relative (fraction of the prior mean)",
    "absolute": "absolute",
    "increase": "increase",
    "decrease": "decrease",
    "any": "either direction",
    "above": "above the mean",
    "below": "below the mean",
}
# Keys of validate_automation's errors that belong to one plain field.
ERROR_FIELDS = {
    "name": "name",
    "description": "description",
    "enabled": "enabled",
    "event": "event_type",
    "event.type": "event_type",
    "action.type": "action_type",
    "action.payload": "payload",
    "action.title": "title",
    "action.message": "message",
    "action.severity": "severity",
    "throttle_minutes": "throttle_minutes",
    "muted_until": "muted_until",
}


def filter_form_field(f: FilterField) -> forms.Field:
    """A form field for one filter key. Requiredness is left to ``validate_filter``
    (``threshold`` is not needed with ``nonfinite``); the label marks it."""
    label = (f.label or f.name.replace("_", " ").capitalize()) + (" *" if f.required else "")
    common: dict[str, Any] = {"required": False, "label": label, "help_text": f.help}
    if f.kind == "int":
        return forms.IntegerField(
            min_value=f.min, max_value=f.max, initial=f.default, **common
        )
    if f.kind == "float":
        widget = forms.NumberInput(attrs={"step": "any"})
        return forms.FloatField(initial=f.default, widget=widget, **common)
    if f.kind == "choice":
        choices = [(c, CHOICE_LABELS.get(c, c)) for c in f.choices]
        if not f.required and f.default is None:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, initial=f.default, **common)
    if f.kind == "multichoice":
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in f.choices],
            widget=forms.CheckboxSelectMultiple,
            initial=f.default,
            **common,
        )
    widget = forms.TextInput(attrs={"class": "mono"} if f.kind == "regex" else {})
    return forms.CharField(max_length=1024, strip=False, widget=widget, **common)


def integration_label(integration: Integration) -> str:
    label = f"{integration.name} — {integration.target}"
    return label if integration.enabled else f"{label} (disabled: events are skipped)"


class AutomationForm(forms.Form):
    event_type = forms.ChoiceField(label="Event")
    action_type = forms.ChoiceField(
        label="Action",
        choices=Automation.ActionType.choices,
        widget=forms.RadioSelect,
        initial=Automation.ActionType.WEBHOOK,
    )
    slack_integration = forms.ChoiceField(label="Slack integration", required=False)
    title = forms.CharField(label="Title", required=False, max_length=1000)
    message = forms.CharField(
        label="Message", required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 4})
    )
    # Not required: the field is only rendered when the team has a Slack integration.
    severity = forms.ChoiceField(
        label="Severity", choices=SEVERITIES, initial="INFO", required=False
    )
    webhook_integration = forms.ChoiceField(label="Webhook integration", required=False)
    payload = forms.CharField(
        label="JSON payload",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "mono"}),
        help_text="Leave empty to send the full event as JSON. ${variables} are replaced "
        "inside string values.",
    )
    name = forms.CharField(label="Name", max_length=128)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    throttle_minutes = forms.IntegerField(
        label="Throttle (minutes)",
        required=False,
        min_value=0,
        max_value=MAX_THROTTLE_MINUTES,
        help_text="Act at most once every this many minutes per run or artifact; the "
        "events in between are recorded as skipped. Empty or 0: no limit.",
    )
    muted_until = forms.DateTimeField(
        label="Muted until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In UTC. Until then, matching events are recorded as skipped. "
        "Empty: not muted.",
    )

    def __init__(
        self,
        *args: Any,
        team: Team,
        scope_type: str,
        scope_name: str,
        instance: Automation | None = None,
        **kwargs: Any,
    ) -> None:
        if instance is not None and not args and not kwargs.get("data"):
            kwargs["initial"] = {**initial_for(instance), **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.team = team
        self.scope_type = scope_type
        self.scope_name = scope_name
        self.instance = instance
        self.fields["event_type"].choices = [
            (s.type, s.label) for s in events.specs_for_scope(scope_type)
        ]
        integrations = list(team.integrations.order_by("name"))
        self.slack_integrations = [i for i in integrations if i.kind == Integration.Kind.SLACK]
        self.webhook_integrations = [i for i in integrations if i.kind == Integration.Kind.WEBHOOK]
        self.fields["slack_integration"].choices = [("", "Choose…")] + [
            (i.name, integration_label(i)) for i in self.slack_integrations
        ]
        self.fields["webhook_integration"].choices = [("", "Choose…")] + [
            (i.name, integration_label(i)) for i in self.webhook_integrations
        ]
        # The only integration of a kind is the obvious choice on a new automation.
        if instance is None:
            for name, pool in (
                ("slack_integration", self.slack_integrations),
                ("webhook_integration", self.webhook_integrations),
            ):
                if len(pool) == 1:
                    self.fields[name].initial = pool[0].name
        self.spec = self.chosen_spec()
        for f in self.spec.fields:
            self.fields[FILTER_PREFIX + f.name] = filter_form_field(f)

    # --- what the user chose ---------------------------------------------------

    def chosen_spec(self) -> EventSpec:
        specs = events.specs_for_scope(self.scope_type)
        chosen = self.data.get("event_type") if self.is_bound else None
        chosen = chosen or self.initial.get("event_type") or specs[0].type
        try:
            return events.get_spec(self.scope_type, chosen)
        except KeyError:
            return specs[0]

    def value_of(self, name: str) -> Any:
        if self.is_bound:
            return self[name].value()
        return self.initial.get(name, self.fields[name].initial)

    @property
    def filter_fields(self) -> list[forms.BoundField]:
        return [self[FILTER_PREFIX + f.name] for f in self.spec.fields]

    @property
    def chosen_action(self) -> str:
        return self.value_of("action_type") or Automation.ActionType.WEBHOOK

    def chosen_integration(self) -> Integration | None:
        slack = self.chosen_action == Automation.ActionType.SLACK_NOTIFICATION
        name = self.value_of("slack_integration" if slack else "webhook_integration")
        pool = self.slack_integrations if slack else self.webhook_integrations
        return next((i for i in pool if i.name == name), None)

    # --- validation -------------------------------------------------------------

    def clean_payload(self) -> Any:
        from automations.validation import PayloadError, parse_payload_text, payload_problems

        text = self.cleaned_data.get("payload") or ""
        if not text.strip():
            return None
        try:
            value = parse_payload_text(text)
        except PayloadError as exc:
            raise forms.ValidationError(str(exc)) from None
        problems = payload_problems(value)
        if problems:
            raise forms.ValidationError(problems)
        return value

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Automation.objects.filter(team=self.team, name=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                f"An automation named {name} already exists in this team. Choose another name."
            )
        return name

    def body(self) -> dict[str, Any]:
        """The API-shaped body of ``validate_automation`` from the cleaned fields."""
        data = self.cleaned_data
        filter_values: dict[str, Any] = {}
        for f in self.spec.fields:
            value = data.get(FILTER_PREFIX + f.name)
            if value in (None, "", []):
                continue
            filter_values[f.name] = value
        action: dict[str, Any] = {"type": data.get("action_type")}
        if action["type"] == Automation.ActionType.SLACK_NOTIFICATION:
            action.update(
                integration=data.get("slack_integration") or "",
                title=data.get("title") or "",
                message=data.get("message") or "",
                severity=data.get("severity") or "INFO",
            )
        else:
            # Always sent: on edit the body is merged over the saved automation, and an
            # emptied payload must replace the old one.
            action.update(
                integration=data.get("webhook_integration") or "", payload=data.get("payload")
            )
        return {
            "name": data.get("name", ""),
            "description": data.get("description", ""),
            "enabled": bool(data.get("enabled")),
            "scope": {"type": self.scope_type, "name": self.scope_name},
            "event": {"type": self.spec.type, "filter": filter_values},
            "action": action,
            "throttle_minutes": data.get("throttle_minutes"),
            "muted_until": muted.isoformat() if (muted := data.get("muted_until")) else None,
        }

    def add_validation_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each of ``validate_automation``'s errors next to its field (unless the
        field already failed its own check)."""
        pre_existing = set(self.errors)
        for key, messages in errors.items():
            field = self.error_field(key)
            for message in messages:
                if field is None:
                    self.add_error(None, f"{key}: {message}")
                elif field in self.errors and field in pre_existing:
                    continue
                else:
                    self.add_error(field, message)

    def save(self, user: Any) -> Automation | None:
        """Validate (form fields and ``validate_automation``) and save; ``None`` on errors."""
        return save_form(self, user)

    def error_field(self, key: str) -> str | None:
        if key.startswith("event.filter."):
            name = FILTER_PREFIX + key.split(".", 2)[2]
            return name if name in self.fields else None
        if key == "action.integration":
            slack = self.chosen_action == Automation.ActionType.SLACK_NOTIFICATION
            return "slack_integration" if slack else "webhook_integration"
        return ERROR_FIELDS.get(key)


def initial_for(automation: Automation) -> dict[str, Any]:
    """The form's initial values for an existing automation."""
    config = automation.action_config or {}
    slack = automation.action_type == Automation.ActionType.SLACK_NOTIFICATION
    payload = config.get("payload")
    initial: dict[str, Any] = {
        "event_type": automation.event_type,
        "action_type": automation.action_type,
        "slack_integration": automation.integration.name if slack else "",
        "webhook_integration": "" if slack else automation.integration.name,
        "title": config.get("title", ""),
        "message": config.get("message", ""),
        "severity": config.get("severity", "INFO"),
        "payload": "" if payload in (None, {}) else json.dumps(payload, indent=2),
        "name": automation.name,
        "description": automation.description,
        "enabled": automation.enabled,
        "throttle_minutes": automation.throttle_minutes,
        "muted_until": automation.muted_until,
    }
    for key, value in (automation.filter or {}).items():
        initial[FILTER_PREFIX + key] = value
    return initial


def initial_from(form_class_fields: dict[str, forms.Field], data: QueryDict) -> dict[str, Any]:
    """Submitted values as an unbound form's initial values (lists kept for checkboxes)."""
    initial: dict[str, Any] = {}
    for key in data:
        field = form_class_fields.get(key)
        if isinstance(field, forms.MultipleChoiceField):
            initial[key] = data.getlist(key)
        elif isinstance(field, forms.BooleanField):
            initial[key] = data.get(key) in ("on", "true", "1", "True")
        else:
            initial[key] = data.get(key)
    if "enabled" not in data:
        initial["enabled"] = False
    return initial


MODEL_FIELDS = (
    "name", "description", "enabled", "scope_type", "project", "registry", "event_type",
    "filter", "action_type", "integration", "action_config", "throttle_minutes", "muted_until",
)


def save_form(form: AutomationForm, user: Any) -> Automation | None:
    """Validate with ``validate_automation`` and save; on errors, put them on the form."""
    from automations.validation import validate_automation

    # Run the domain validation even when a field already failed, so every problem
    # shows at once; fields that already have an error keep only their first one.
    form.is_valid()
    cleaned, errors = validate_automation(form.team, form.body(), instance=form.instance)
    form.add_validation_errors(errors)
    if form.errors:
        return None
    automation = form.instance or Automation(team=form.team, created_by=user)
    for key in MODEL_FIELDS:
        if key in cleaned:
            setattr(automation, key, cleaned[key])
    try:
        with transaction.atomic():
            automation.save()
    except IntegrityError:
        form.add_error("name", "An automation with this name already exists in this team.")
        return None
    return automation

