"""Create and edit an automation (admins), and the two htmx partials of the form:
the filter fields of the chosen event, and the live payload preview."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from automations import events
from automations.forms import FILTER_PREFIX, AutomationForm, initial_from
from automations.models import Automation
from automations.presets import Preset, get_preset, presets_for
from automations.preview import Preview, build_preview, latest_metadata
from automations.views.scope import ScopePage, automation_page, scope_page
from teams.access import Role


@login_required
def automation_new(
    request: HttpRequest, slug: str, project: str | None = None, registry: str | None = None
) -> HttpResponse:
    page = scope_page(request, slug, project=project, registry=registry, need=Role.ADMIN)
    return edit(request, page, None)


@login_required
def automation_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    page, automation = automation_page(request, slug, pk, need=Role.ADMIN)
    return edit(request, page, automation)


def form_kwargs(page: ScopePage, automation: Automation | None) -> dict[str, Any]:
    return {
        "team": page.team,
        "scope_type": page.scope_type,
        "scope_name": page.obj.name,
        "instance": automation,
    }


def edit(request: HttpRequest, page: ScopePage, automation: Automation | None) -> HttpResponse:
    kwargs = form_kwargs(page, automation)
    if request.method != "POST":
        initial = {}
        if automation is None and request.GET.get("event"):
            initial["event_type"] = request.GET["event"]
        form = AutomationForm(initial=initial or None, **kwargs)
    elif "preset" in request.POST or "refresh" in request.POST:
        # Without JavaScript: apply a preset or show another event's fields; save nothing.
        form = reshown(request, kwargs)
    else:
        form = AutomationForm(request.POST, **kwargs)
        saved = form.save(request.user)
        if saved is not None:
            verb = "created" if automation is None else "saved"
            messages.success(request, f"Automation {saved.name} {verb}.")
            return HttpResponseRedirect(saved.get_absolute_url())
    return render_form(request, page, form, automation)


def reshown(request: HttpRequest, kwargs: dict[str, Any]) -> AutomationForm:
    probe = AutomationForm(request.POST, **kwargs)
    initial = initial_from(probe.fields, request.POST)
    preset = get_preset(
        kwargs["scope_type"], request.POST.get("preset", ""), request.POST.get("event_type")
    )
    if preset is not None:
        initial["payload"] = preset.text
        initial["action_type"] = Automation.ActionType.WEBHOOK
    return AutomationForm(initial=initial, **kwargs)


def render_form(
    request: HttpRequest, page: ScopePage, form: AutomationForm, automation: Automation | None
) -> HttpResponse:
    if automation is None:
        tail = [("New automation", None)]
        title = "New automation"
    else:
        tail = [(automation.name, automation.get_absolute_url()), ("Edit", None)]
        title = f"Edit {automation.name}"
    return render(
        request,
        "automations/form.html",
        page.context(
            form=form,
            automation=automation,
            title=title,
            presets=scope_presets(page, str(form.spec.type)),
            preview=preview_of(page, form),
            settings_url=reverse("team_settings", args=[page.team.slug]),
            breadcrumbs=page.breadcrumbs(*tail),
            tab="automations",
        ),
    )


def preview_of(page: ScopePage, form: AutomationForm) -> Preview | None:
    """The rendered payload for the form's current values (errors in the form are fine)."""
    filter_values: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        source = form.cleaned_data
    else:
        source = {k: form.value_of(k) for k in form.fields}
    for f in form.spec.fields:
        value = source.get(FILTER_PREFIX + f.name)
        if value not in (None, "", []):
            filter_values[f.name] = value
    payload = form.value_of("payload") or ""
    try:
        return build_preview(
            scope=page.obj,
            event_type=form.spec.type,
            filter=filter_values,
            action_type=form.chosen_action,
            integration=form.chosen_integration(),
            title=form.value_of("title") or "",
            message=form.value_of("message") or "",
            severity=form.value_of("severity") or "INFO",
            payload_text=payload if isinstance(payload, str) else "",
            automation_name=form.value_of("name") or "",
        )
    except (KeyError, ValueError, TypeError):
        return None


def partial_page(request: HttpRequest, slug: str, params: Any) -> ScopePage:
    scope_type = params.get("scope_type", "")
    name = params.get("scope_name", "")
    if scope_type == "project":
        return scope_page(request, slug, project=name, need=Role.ADMIN)
    if scope_type == "registry":
        return scope_page(request, slug, registry=name, need=Role.ADMIN)
    raise Http404("Unknown scope.")


@login_required
@require_GET
def filter_fields(request: HttpRequest, slug: str) -> HttpResponse:
    page = partial_page(request, slug, request.GET)
    event_type = request.GET.get("event_type", "")
    try:
        events.get_spec(page.scope_type, event_type)
    except KeyError:
        raise Http404("Unknown event type for this scope.") from None
    form = AutomationForm(initial={"event_type": event_type}, **form_kwargs(page, None))
    return render(
        request,
        "automations/_filter_fields.html",
        {"form": form, "presets": scope_presets(page, event_type), "presets_oob": True},
    )


PRESET_METADATA_KEYS = 5


def scope_presets(page: ScopePage, event_type: str) -> list[Preset]:
    """The presets for ``event_type``, with (a few of) the scope's latest metadata keys."""
    metadata = latest_metadata(page.obj) or {}
    keys = sorted(str(k) for k in metadata)[:PRESET_METADATA_KEYS]
    return presets_for(page.scope_type, event_type, keys)


@login_required
@require_POST
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    page = partial_page(request, slug, request.POST)
    form = AutomationForm(request.POST, **form_kwargs(page, None))
    return render(request, "automations/_preview.html", {"preview": preview_of(page, form)})
