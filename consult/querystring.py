"""Numbers read from a query string or a form, before they reach a query."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.utils.translation import gettext

BIGGEST_KEY = 2**63 - 1  # SQLite's integers, and PostgreSQL's bigint


def is_number(value) -> bool:
    """A primary key or revision number as the database can take it. str.isdigit alone would
    take "²", and a number no column holds fails the query (Django guards an exact lookup on
    an integer field against it, not `__in` or a foreign key); int() refuses over 4,300
    digits, so the length is checked first."""
    value = str(value or "")
    return (
        value.isascii()
        and value.isdigit()
        and len(value) <= len(str(BIGGEST_KEY))
        and int(value) <= BIGGEST_KEY
    )


# The last year whose drill-down Django can bound: it computes the end of a year, month or day
# outside its own check of the parameters, and datetime stops at 9999-12-31.
LAST_DRILLABLE_YEAR = 9998
# And the first: the year 1 begins in Beijing on the last day of the year 0 in UTC, which
# datetime cannot hold when SQLite's backend converts it.
FIRST_DRILLABLE_YEAR = 2


# The date drill-down's parts, and the numbers each may be.
_DRILL_DOWN_RANGES = {
    "year": (FIRST_DRILLABLE_YEAR, LAST_DRILLABLE_YEAR),
    "month": (1, 12),
    "day": (1, 31),
}


def lookup_value_usable(lookup: str, value, date_hierarchy: str | None = None) -> bool:
    """Whether an admin list's query-string value can reach the database without failing the
    page: PostgreSQL refuses NUL in any text and reads a regular expression it cannot compile
    as an error, and the date drill-down needs plain numbers in range (Django takes "+9999" and
    overflows on a month of ten digits)."""
    value = str(value)
    if "\x00" in value or lookup.endswith(("__regex", "__iregex")):
        return False
    if date_hierarchy and lookup.startswith(f"{date_hierarchy}__"):
        part = lookup.removeprefix(f"{date_hierarchy}__")
        if part in _DRILL_DOWN_RANGES:
            least, most = _DRILL_DOWN_RANGES[part]
            return is_number(value) and least <= int(value) <= most
    return True


def key_usable(model, value) -> bool:
    """Whether `value` can be looked up as `model`'s primary key without failing the query."""
    if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField"):
        return is_number(value)
    return "\x00" not in str(value)


def usable_search_term(term: str) -> str:
    """A search term as the database can take it: PostgreSQL refuses NUL in any text."""
    return term.replace("\x00", "")


class UsableLookupValues:
    """A ModelAdmin mixin: what a URL or a list's form carries to the database is checked
    first, so that a value the query would fail on is answered as Django answers one it
    refuses, not with a 500: a list filter's value is a 400 (`DisallowedModelAdminLookup`), as
    an unknown parameter is; an object's key is "does not exist"; a search ignores NUL; an
    action on keys that are none does nothing and says so."""

    def lookup_allowed(self, lookup, value, request=None):
        return lookup_value_usable(lookup, value, self.date_hierarchy) and super().lookup_allowed(
            lookup, value, request
        )

    def get_object(self, request, object_id, from_field=None):
        if from_field is None and not key_usable(self.model, object_id):
            return None
        return super().get_object(request, object_id, from_field)

    def get_search_results(self, request, queryset, search_term):
        # The list's own search and the admin's autocomplete both pass through here.
        return super().get_search_results(request, queryset, usable_search_term(search_term))

    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(key_usable(self.model, value) for value in selected):
            # None: Django's change list goes back to the list, where this message shows.
            self.message_user(request, gettext("所选项目无效，未执行任何操作。"), messages.WARNING)
            return None
        if errors := self._action_form_errors(request):
            # Django reads any invalid action form as "no action selected"; a reply with NUL
            # in it was refused under that message.
            for message in errors:
                self.message_user(request, message, messages.ERROR)
            return None
        return super().response_action(request, queryset)

    def _action_form_errors(self, request) -> list[str]:
        """What is wrong with the action form's fields beside the action, as Django's
        `response_action` reads the form (the action of the bar the button was in)."""
        data = request.POST.copy()
        data.pop(helpers.ACTION_CHECKBOX_NAME, None)
        index = data.pop("index", ["0"])[-1]
        actions = data.getlist("action")
        if is_number(index) and int(index) < len(actions):
            data["action"] = actions[int(index)]
        form = self.action_form(data, auto_id=None)
        form.fields["action"].choices = self.get_action_choices(request)
        if form.is_valid() or "action" in form.errors:
            return []
        found = []
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else None
            found.append(f"{label}{gettext('：')}{' '.join(errors)}" if label else " ".join(errors))
        return found
