"""Admin change forms that write only what their user changed on the page.

Django's admin saves every field of a change form as the page posted it. A page opened before a
colleague's save — or before the system moved a value, as publishing a later draft for comment
moves the consultation's period and text — would put back what it showed. `ShownValuesForm`
carries a fingerprint of each field as the page showed it and, on save:

- a field the user left as shown takes the row's value now (a change made since is kept);
- a field the user changed is saved, unless it has also changed since to something else: then
  the save is refused, naming the value now, and the page is shown again with the user's
  entries and the current values elsewhere, so saving it again is a decision with both in view.
"""

import datetime
import hashlib
import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.widgets import CheckboxInput, MultiWidget
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CHANGED_SINCE_SHOWN = _(
    "本页打开后，此项已被修改为“%(value)s”。请核对：再次保存将以您填写的内容为准。"
)


def _canonical(value) -> str:
    """A value as a page can show it: datetimes to the second in UTC (a page shows no
    microseconds), text without the browser's carriage returns or the form's stripped edges,
    a related row by its key."""
    if isinstance(value, models.Model):
        value = value.pk
    elif isinstance(value, datetime.datetime):
        value = value.replace(microsecond=0).astimezone(datetime.UTC).isoformat()
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    elif isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
    elif value is None:
        value = ""
    return json.dumps(value, ensure_ascii=False, default=str)


def _fingerprint(value) -> str:
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:16]


class ShownValuesForm(forms.ModelForm):
    """A model admin form whose save keeps changes made since its page was opened (module
    docstring). The admin's change view runs in one transaction: the row locked here stays
    locked until the save, so two saves at once are checked one after the other."""

    values_shown = forms.CharField(widget=forms.HiddenInput, required=False)

    # Set by clean: the fields that changed since the page was opened and were kept.
    kept_since: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["values_shown"].initial = self._fingerprints(self.instance)

    def _model_fields(self) -> list[str]:
        concrete = {field.name for field in self._meta.model._meta.concrete_fields}
        return [name for name in self.fields if name in concrete]

    def _fingerprints(self, instance) -> str:
        return json.dumps(
            {name: _fingerprint(getattr(instance, name)) for name in self._model_fields()}
        )

    def _shown(self) -> dict:
        try:
            shown = json.loads(self.data.get(self.add_prefix("values_shown")) or "{}")
        except ValueError:
            return {}
        return shown if isinstance(shown, dict) else {}

    def clean(self):
        cleaned = super().clean()
        shown = self._shown()
        if self.instance.pk is None or not shown:
            # A new row, or a page from before this form: saved as posted.
            return cleaned
        row = type(self.instance)._base_manager.select_for_update().get(pk=self.instance.pk)
        self.kept_since = []
        conflicts = {}
        for name in self._model_fields():
            if name not in shown or name not in cleaned:
                continue
            current = getattr(row, name)
            typed = _fingerprint(cleaned[name]) != shown[name]
            moved = _fingerprint(current) != shown[name]
            if not moved:
                continue
            if not typed:
                cleaned[name] = current
                self.kept_since.append(name)
            elif _fingerprint(cleaned[name]) != _fingerprint(current):
                conflicts[name] = current
        if conflicts:
            self._show_again(row, conflicts)
        return cleaned

    def _show_again(self, row, conflicts: dict) -> None:
        """The page again: the user's entries where they typed, the row's values now elsewhere,
        each conflicting field naming its value now; fingerprints as of now."""
        data = self.data.copy()
        for name in self.kept_since:
            _data_put(data, self.add_prefix(name), self.fields[name], getattr(row, name))
        data[self.add_prefix("values_shown")] = self._fingerprints(row)
        self.data = data
        for name, current in conflicts.items():
            self.add_error(
                name,
                ValidationError(
                    gettext(CHANGED_SINCE_SHOWN) % {"value": _shown_text(current)},
                    code="stale",
                ),
            )
        self.kept_since = []


class ShownValuesAdmin:
    """A ModelAdmin mixin: its change form is a `ShownValuesForm` (list "values_shown" in the
    fieldsets, so the page carries it), and a save that kept changes made since the page was
    opened says which."""

    form = ShownValuesForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if kept := getattr(form, "kept_since", None):
            self.message_user(
                request,
                gettext("本页打开后，%(fields)s已被修改；保存时保留了修改后的内容。")
                % {"fields": gettext("、").join(str(form.fields[name].label) for name in kept)},
                messages.INFO,
            )


def _shown_text(value) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _data_put(data, name: str, field: forms.Field, value) -> None:
    """Put `value` into posted form data as `field`'s widget would have posted it."""
    widget = getattr(field.widget, "widget", field.widget)  # the admin's related-field wrapper
    if isinstance(widget, MultiWidget):
        for suffix, part, sub in zip(
            widget.widgets_names, widget.decompress(value), widget.widgets, strict=False
        ):
            data[name + suffix] = sub.format_value(part) or ""
    elif isinstance(widget, CheckboxInput):
        if value:
            data[name] = "on"
        else:
            data.pop(name, None)
    else:
        shown = widget.format_value(field.prepare_value(value))
        if isinstance(shown, list | tuple):  # a select's: the chosen options' values
            shown = shown[0] if shown else ""
        data[name] = "" if shown is None else str(shown)
