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
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from consult.text import refuse_invisible_characters


class InvisibleCharactersRefused:
    """Staff's text (a title, a department's name, a report's gist) is refused with a control
    character in it, as a citizen's is: pasted from a PDF, one broke every feed showing it."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(db_field, models.CharField | models.TextField):
            field.validators.append(refuse_invisible_characters)
        return field


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
