"""The admin site every app registers on (Django's default site, of this class), and what
every admin form of staff-typed text shares.

Django's autocomplete view takes any field name the query string gives it. For a reverse
relation (a comment's `events`, a department's `memberships`) it crashes with an
AttributeError, a 500 (Django ticket #32619), where a field it cannot search through is a 403
everywhere else; here that field is a 403 too.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from consult.text import CONTROL_CHARACTER_MESSAGE, has_invisible_characters


class InvisibleCharactersRefused:
    """Staff's text (a title, a department's name, a report's gist) is refused with a control
    character in it, as a citizen's is: pasted from a PDF, one broke every feed showing it.

    Only the fields the user changed: a notice's source text keeps the page breaks it was
    imported with, and a save of another field on its page is not refused for them."""

    def get_form(self, request, obj=None, **kwargs):
        return _refusing_typed(super().get_form(request, obj, **kwargs))

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _refusing_typed(formset.form)
        return formset


def _refusing_typed(form_class):
    class TypedTextChecked(form_class):
        def clean(self):
            cleaned = super().clean()
            for name in self.changed_data:
                value = self.cleaned_data.get(name)
                if isinstance(value, str) and has_invisible_characters(value):
                    self.add_error(
                        name, ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")
                    )
            return cleaned

    TypedTextChecked.__name__ = TypedTextChecked.__qualname__ = form_class.__name__
    return TypedTextChecked


class ForwardRelationsOnly(AutocompleteJsonView):
    """Only a field the source model itself holds (a foreign key, a many-to-many) is searched."""

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if not source_field.concrete:
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name


class ConsultAdminSite(admin.AdminSite):
    site_header = _("征求意见办理系统")
    site_title = _("征求意见办理")
    index_title = _("办理工作台")

    def autocomplete_view(self, request):
        return ForwardRelationsOnly.as_view(admin_site=self)(request)


class ConsultAdminConfig(AdminConfig):
    default_site = "consult.web.admin_site.ConsultAdminSite"
