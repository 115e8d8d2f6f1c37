"""Writes on departments and consultations that more than one entry point needs."""

import datetime
from collections import Counter, defaultdict

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from .directory import directory_changes_batched
from .models import (
    ClauseResponsibility,
    Consultation,
    Department,
    DepartmentAlias,
    Mailbox,
    Membership,
)
from .revisions import revision_first


@directory_changes_batched()
def departments_load(rows) -> list[Department]:
    """Create or update departments from plain rows: name, full_name, aliases, mailboxes.

    Idempotent: loading the same rows twice changes nothing. Raises ValidationError, naming
    each department and value, when a mailbox is not one email address or a name or an alias
    is blank (it stood for whichever department had no full name); loads nothing then.
    """
    rows = list(rows)
    if problems := _blank_name_problems(rows) + mailbox_problems(rows):
        raise ValidationError(problems)
    names = _DepartmentNames()
    mailboxes = set(Mailbox.objects.values_list("department_id", "email"))
    departments = []
    for row in rows:
        department = names.first(row["name"])
        if department is None:
            department = Department.objects.create(
                name=row["name"], full_name=row.get("full_name") or ""
            )
            names.add(department, department.name, department.full_name)
        elif row.get("full_name") and department.full_name != row["full_name"]:
            names.remove(department, department.full_name)
            department.full_name = row["full_name"]
            department.save(update_fields=["full_name"])
            names.add(department, department.full_name)
        for alias in row.get("aliases", []):
            if names.first(alias) is None:
                DepartmentAlias.objects.create(department=department, name=alias)
                names.add(department, alias)
        for email in row.get("mailboxes", []):
            if (department.pk, email) not in mailboxes:
                Mailbox.objects.create(department=department, email=email)
                mailboxes.add((department.pk, email))
        departments.append(department)
    return departments


class _DepartmentNames:
    """Every name a department is known by (short name, full name, alias), answering as
    `Department.objects.named(name).first()` does, kept up to date by the load: read in two
    queries instead of asked once per name (a load of the 22 Weifang departments asked 90
    questions)."""

    def __init__(self):
        # Counted: a name may stand twice for one department (an alias equal to its full name).
        self._departments = defaultdict(Counter)
        aliases = defaultdict(list)
        for name, department_id in DepartmentAlias.objects.values_list("name", "department_id"):
            aliases[department_id].append(name)
        for department in Department.objects.all():
            self.add(department, department.name, department.full_name, *aliases[department.pk])

    def add(self, department: Department, *names: str) -> None:
        for name in names:
            self._departments[name][department] += 1

    def remove(self, department: Department, name: str) -> None:
        self._departments[name][department] -= 1

    def first(self, name: str) -> Department | None:
        """By `named`'s order (the short name's) where several answer to it."""
        found = [d for d, count in self._departments.get(name.strip(), {}).items() if count > 0]
        return min(found, key=lambda department: department.name) if found else None


def _blank_name_problems(rows) -> list[str]:
    problems = []
    for number, row in enumerate(rows, start=1):
        if not (row.get("name") or "").strip():
            problems.append(_("第%(number)d个部门没有简称。") % {"number": number})
        elif any(not alias.strip() for alias in row.get("aliases", [])):
            problems.append(
                _("部门“%(department)s”有一个空白的别名。") % {"department": row["name"]}
            )
    return problems


def mailbox_problems(rows) -> list[str]:
    """What is wrong with the rows' mailboxes: each must be one address as the admin's form
    takes it. Delivery cannot address "a@x.cn;b@x.cn", and would fail that department's mail."""
    problems = []
    for row in rows:
        for email in row.get("mailboxes", []):
            try:
                validate_email(email)
            except ValidationError:
                problems.append(
                    _(
                        "部门“%(department)s”的通知邮箱“%(email)s”不是一个有效的邮箱地址；"
                        "多个邮箱请分别列出。"
                    )
                    % {"department": row["name"], "email": email}
                )
    return problems


@directory_changes_batched()
def consultation_copy(
    consultation: Consultation,
    *,
    slug: str,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    title: str | None = None,
) -> Consultation:
    """A new consultation with the current text and clause tree but its own period and comments
    (its first revision)."""
    clauses = list(consultation.current_clauses().order_by("path"))
    responsibilities = list(
        ClauseResponsibility.objects.filter(clause__in=clauses).order_by("clause__path", "position")
    )
    copy = Consultation.objects.get(pk=consultation.pk)
    copy.pk = None
    copy.slug = slug
    copy.title = title or consultation.title
    copy.opens_at = opens_at
    copy.closes_at = closes_at
    copy.report_published_at = None
    copy.current_revision = None
    copy.directory_version = 0
    copy.save(force_insert=True)
    revision = revision_first(copy)

    new_by_old = {}
    for clause in clauses:  # in path order, so every parent is copied before its children
        old_pk = clause.pk
        clause.pk = None
        clause.consultation = copy
        clause.revision = revision
        clause.parent = new_by_old.get(clause.parent_id)
        clause.save(force_insert=True)
        new_by_old[old_pk] = clause
    for responsibility in responsibilities:
        responsibility.pk = None
        responsibility.clause = new_by_old[responsibility.clause_id]
    ClauseResponsibility.objects.bulk_create(responsibilities)
    return copy


DEPARTMENT_STAFF_GROUP = "部门工作人员"
COORDINATOR_GROUP = "牵头统筹单位工作人员"
# What each group may do; which comments its members see is decided by their departments.
# The migrations comments 0004/0007, reports 0002 and jobs 0002 create the same groups.
GROUP_PERMISSIONS = {
    DEPARTMENT_STAFF_GROUP: [
        "comments.view_comment",
        "comments.add_comment",
        "comments.change_comment",
        "comments.view_commentevent",
        "comments.view_cooperatingopinion",
        "comments.view_commentrouting",
        "comments.view_attachment",
        "consultations.view_consultation",
        "consultations.view_clause",
        "notifications.view_reminder",
    ],
}
GROUP_PERMISSIONS[COORDINATOR_GROUP] = [
    *GROUP_PERMISSIONS[DEPARTMENT_STAFF_GROUP],
    "consultations.publish_report",
    "comments.export_personal_data",
    "notifications.view_notification",
    "notifications.view_outgoingemail",
    "notifications.change_outgoingemail",
    "reports.view_adoptionreport",
    "reports.change_adoptionreport",
    "reports.view_reportclause",
    "reports.change_reportclause",
    "jobs.view_jobstatus",
]


def staff_group(name: str):
    """The group, recreated with its permissions if someone deleted it."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=name)
    if created:
        for permission in GROUP_PERMISSIONS[name]:
            app_label, codename = permission.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


def staff_join(user, department: Department, *, role=Membership.Role.HANDLER) -> Membership:
    """Make a user staff of a department, in the group that gives them the triage permissions."""
    membership, _created = Membership.objects.get_or_create(
        user=user, department=department, defaults={"role": role}
    )
    staff_groups_set(user)
    return membership


def staff_groups_set(user) -> None:
    """The staff group a user's memberships give, however they were made or unmade (here, or
    rows added, moved or deleted in the admin), and not the other: staff of a department that
    issues consultations are coordinators (they also publish the adoption report and watch the
    outbox), other members department staff, and a user who is a member of nothing neither.
    These two groups are the memberships' to manage (a hand-made change to them is undone by the
    next change of membership); any other permission goes through a group of its own. A
    member is given the admin; leaving it is a superuser's decision."""
    department_ids = list(user.memberships.values_list("department_id", flat=True))
    wanted = set()
    if department_ids:
        coordinator = Consultation.objects.coordinated_by(department_ids).exists()
        wanted.add(COORDINATOR_GROUP if coordinator else DEPARTMENT_STAFF_GROUP)
    for name in (COORDINATOR_GROUP, DEPARTMENT_STAFF_GROUP):
        if name in wanted:
            user.groups.add(staff_group(name))
        else:
            user.groups.remove(*user.groups.filter(name=name))
    # comments.access caches a user's departments on the user object; they changed.
    user.__dict__.pop("_consult_department_ids", None)
    if department_ids and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def department_staff_groups_set(department_id) -> None:
    """A department that issues a consultation now (a notice imported, an issuer chosen in the
    admin), or no longer does: its staff, who may have joined before, are or stop being
    coordinators."""
    for membership in Membership.objects.filter(department_id=department_id).select_related("user"):
        staff_groups_set(membership.user)
