from __future__ import annotations

from django import forms

from inbox.models import Inbox
from teams.models import Team


class InboxForm(forms.Form):
    name = forms.CharField(
        max_length=128,
        help_text="For you, e.g. “Try the deploy webhook”.",
    )

    def __init__(self, *args: object, team: Team, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.team = team

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the inbox a name.")
        if Inbox.objects.filter(team=self.team, name=name).exists():
            raise forms.ValidationError("This team already has an inbox with that name.")
        return name
