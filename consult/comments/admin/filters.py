"""The queue's list filters (scope, clause, department, role and contact), and the rule that
the query string accepts nothing else."""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Exists, Q
from django.utils.translation import gettext_lazy as _

from consult.comments.access import routes_of_departments, user_department_ids
from consult.comments.models import Comment, CommentRouting
from consult.comments.reminders import opinion_awaited
from consult.comments.revision_outcomes import comments_of_revision
from consult.consultations.models import Clause, Department, Revision
from consult.querystring import UsableLookupValues, is_number


class ScopeFilter(admin.SimpleListFilter):
    """The queue opens on the user's own open comments; "open" shows every visible comment still
    to be answered (the adoption report links there), "all" everything visible."""

    title = _("范围")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [
            ("mine", _("我的待办")),
            ("open", _("全部未办结的意见")),
            ("all", _("全部可见的意见")),
        ]

    def choices(self, changelist):
        current = self.value() or "mine"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        scope = self.value() or "mine"
        if scope not in ("mine", "open"):
            return queryset
        queryset = queryset.filter(status__in=Comment.OPEN_STATUSES)
        if scope == "open":
            return queryset
        if request.user.is_superuser:
            return queryset
        mine = routes_of_departments(user_department_ids(request.user))
        return queryset.filter(Exists(mine))


class ClauseFilter(admin.SimpleListFilter):
    """Clauses of the consultation chosen in the consultation filter (choose that first)."""

    title = _("条款")
    parameter_name = "clause"

    def lookups(self, request, model_admin):
        consultation = request.GET.get("consultation__id__exact")
        if not is_number(consultation):
            return []
        clauses = Clause.objects.filter(consultation_id=consultation)
        revision = request.GET.get(RevisionFilter.parameter_name, "")
        if is_number(revision):
            clauses = clauses.filter(revision__number=revision)
        return [
            (str(pk), f"{label} {heading}".strip()[:40] + (f" · {number}" if number > 1 else ""))
            for pk, label, heading, number in clauses.order_by(
                "revision__number", "path"
            ).values_list("pk", "label", "heading", "revision__number")
        ]

    def queryset(self, request, queryset):
        # A str from the query string, the choice's own value (an int) when counting facets.
        if is_number(self.value()):
            return queryset.filter(clause_id=self.value())
        return queryset


class RevisionFilter(admin.SimpleListFilter):
    """修改稿: the comments on one revision of the consultation chosen in the consultation
    filter (on its clauses, or on the whole draft while it was the current text)."""

    title = _("修改稿")
    parameter_name = "revision"

    def lookups(self, request, model_admin):
        consultation = request.GET.get("consultation__id__exact")
        if not is_number(consultation):
            return []
        revisions = Revision.objects.published().filter(consultation_id=consultation)
        return [(str(revision.number), revision.label) for revision in revisions.order_by("number")]

    def queryset(self, request, queryset):
        consultation = request.GET.get("consultation__id__exact")
        if not (is_number(self.value()) and is_number(consultation)):
            return queryset
        revision = Revision.objects.filter(consultation_id=consultation, number=self.value())
        revision = revision.first()
        if revision is None:
            return queryset.none()
        return comments_of_revision(queryset, revision)


class DepartmentFilter(admin.SimpleListFilter):
    title = _("部门")
    parameter_name = "department"

    def lookups(self, request, model_admin):
        return list(Department.objects.active().values_list("pk", "name"))

    def queryset(self, request, queryset):
        if is_number(self.value()):
            return queryset.filter(Exists(routes_of_departments([int(self.value())])))
        return queryset


class RoleFilter(admin.SimpleListFilter):
    """The user's departments' part in a comment: answering it, a role on its clause, or an
    opinion still owed on it (the reminders' count, `opinion_awaited`)."""

    title = _("我的职责")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [
            ("owner", _("负责答复")),
            *CommentRouting.Role.choices,
            ("awaited", _("待提出配合意见")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        routes = routes_of_departments(user_department_ids(request.user))
        if value == "owner":
            routes = routes.filter(is_owner=True)
        elif value == "awaited":
            routes = routes.filter(opinion_awaited())
        else:
            routes = routes.filter(role=value)
        return queryset.filter(Exists(routes))


class ContactFilter(admin.SimpleListFilter):
    title = _("留有联系方式")
    parameter_name = "contact"

    def lookups(self, request, model_admin):
        return [("yes", _("是")), ("no", _("否"))]

    def queryset(self, request, queryset):
        has_contact = ~Q(phone="") | ~Q(email="")
        if self.value() == "yes":
            return queryset.filter(has_contact)
        if self.value() == "no":
            return queryset.exclude(has_contact)
        return queryset


class OfferedLookupsOnly(UsableLookupValues):
    """A ModelAdmin mixin: the list accepts only the parameters its own filters produce.

    Django's `lookup_allowed` accepts any lookup on the model's own fields, offered or not:
    `?phone__startswith=1390000` or `?phone__regex=^139` lists a comment or not, and so
    unmasks, digit by digit, a number the page shows as 139****0001. Here a parameter is
    accepted only when a list filter expects it (`expected_parameters()`, asked of the
    filters themselves), when it is the date hierarchy's drill-down, or when the admin names
    it in `link_lookups` (links elsewhere that no filter produces). Django answers any other
    with 400 (`DisallowedModelAdminLookup`) and lists nothing.

    No ForeignKey with `limit_choices_to` points at these models; one that did would need its
    raw-id popup's parameters in `link_lookups`.
    """

    link_lookups: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        list_filter = tuple(
            self.get_list_filter(request) if request is not None else self.list_filter
        )
        offered = lookup in self._plain_parameters(list_filter) or lookup in (
            self._field_filter_parameters(request, list_filter)
        )
        return offered and super().lookup_allowed(lookup, value, request)

    def _plain_parameters(self, list_filter) -> set[str]:
        """What is known without building a filter: simple filters' names, the date
        drill-down and the admin's links."""
        names = set(self.link_lookups)
        if self.date_hierarchy:
            names |= {f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")}
        for item in list_filter:
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                names.add(item.parameter_name)
        return names

    def _field_filter_parameters(self, request, list_filter) -> frozenset[str]:
        """The parameters of the field filters, as the filters name them (`status__exact`,
        `consultation__id__exact`, `campaign__isempty`, `submitted_at__gte` ...).

        They depend on the fields only, so they are built once per list of filters (building a
        related-field filter reads its choices from the database).
        """
        cache = self.__dict__.setdefault("_field_filter_parameters_cache", {})
        if list_filter not in cache:
            names = set()
            for item in list_filter:
                if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                    continue
                if callable(item):
                    spec = item(request, {}, self.model, self)
                else:
                    path, filter_class = (
                        item
                        if isinstance(item, (list, tuple))
                        else (item, admin.FieldListFilter.create)
                    )
                    field = get_fields_from_path(self.model, path)[-1]
                    spec = filter_class(field, request, {}, self.model, self, field_path=path)
                names.update(spec.expected_parameters())
            cache[list_filter] = frozenset(names)
        return cache[list_filter]
