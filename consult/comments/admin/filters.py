"""The queue's list filters: scope, clause, department, role and contact."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from consult.comments.access import routes_of_departments, user_department_ids
from consult.comments.models import Comment, CommentRouting
from consult.consultations.models import Clause, Department


class ScopeFilter(admin.SimpleListFilter):
    """The queue opens on the user's own open comments; "all" shows everything visible."""

    title = _("范围")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("mine", _("我的待办")), ("all", _("全部可见的意见"))]

    def choices(self, changelist):
        current = self.value() or "mine"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if (self.value() or "mine") != "mine":
            return queryset
        queryset = queryset.filter(status__in=Comment.OPEN_STATUSES)
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
        if not (consultation or "").isdigit():
            return []
        return [
            (str(pk), f"{label} {heading}".strip()[:40])
            for pk, label, heading in Clause.objects.filter(consultation_id=consultation)
            .order_by("path")
            .values_list("pk", "label", "heading")
        ]

    def queryset(self, request, queryset):
        if (self.value() or "").isdigit():
            return queryset.filter(clause_id=self.value())
        return queryset


class DepartmentFilter(admin.SimpleListFilter):
    title = _("部门")
    parameter_name = "department"

    def lookups(self, request, model_admin):
        return list(Department.objects.active().values_list("pk", "name"))

    def queryset(self, request, queryset):
        if (self.value() or "").isdigit():
            routed = CommentRouting.objects.filter(comment=OuterRef("pk"), department=self.value())
            return queryset.filter(Exists(routed))
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = _("我的职责")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("owner", _("负责答复")), *CommentRouting.Role.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        routes = routes_of_departments(user_department_ids(request.user))
        routes = routes.filter(is_owner=True) if value == "owner" else routes.filter(role=value)
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
