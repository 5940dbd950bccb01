"""Form widgets shared by the pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Suggestions = Callable[[], Iterable[tuple[str, str]]]
# How many of the newest rows a picker suggests: pages stay the same size however
# many rows there are (issue 11); any other one can be typed.
SUGGESTED = 20


class SuggestInput(forms.TextInput):
    """A text input for picking one of many rows by typing its reference (``v12``,
    ``mnist/model:v3``), with a ``<datalist>`` of a few suggestions: the browser offers
    them as the user types, no script needed.

    Used instead of a ``<select>`` wherever the rows grow with use: the page stays the
    same size however many there are. ``suggest`` returns ``(value, label)`` pairs (a
    label of ``""`` shows the value alone). A form gives it with ``offer()``; it is
    called at most once per form, when the widget renders or the page asks for
    ``suggestions`` (is there anything to pick?), and never on a valid POST."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.suggest: Suggestions | None = None

    def offer(self, suggest: Suggestions) -> None:
        self.suggest = suggest
        self.__dict__.pop("suggestions", None)  # forget what an earlier source gave

    @cached_property
    def suggestions(self) -> list[tuple[str, str]]:
        return list(self.suggest()) if self.suggest is not None else []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        if self.suggestions:
            widget_attrs["list"] = self._list_id(name, widget_attrs)
            # The newest suggestion is the example, unless the form gave one.
            widget_attrs.setdefault("placeholder", f"e.g. {self.suggestions[0][0]}")
        return context

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        if not self.suggestions:
            return html
        options = format_html_join(
            "", '<option value="{}">{}</option>',
            ((ref, label if label != ref else "") for ref, label in self.suggestions),
        )
        list_id = self._list_id(name, self.build_attrs(self.attrs, attrs))
        return format_html("{}<datalist id=\"{}\">{}</datalist>", html, list_id, options)

    @staticmethod
    def _list_id(name: str, attrs: dict[str, Any]) -> str:
        return f"{attrs.get('id') or 'id_' + name}-suggestions"


def picker_field(label: str, how: str, max_length: int = 128) -> forms.CharField:
    """A field that picks one of many rows by its reference: a ``SuggestInput``, with
    ``how`` to type one and a word on the suggestions as its help text."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=SuggestInput(attrs={"class": "mono"}),
        help_text=f"{how} The {SUGGESTED} newest are suggested as you type.",
    )


def picker(form: forms.BaseForm, name: str) -> SuggestInput:
    """The ``SuggestInput`` of ``form``'s field ``name``."""
    widget = form.fields[name].widget
    if not isinstance(widget, SuggestInput):
        raise TypeError(f"{name} is not a picker")
    return widget
