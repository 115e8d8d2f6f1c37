"""Who may see which comments: the one rule the admin, downloads, exports and the API share.

Department staff see the comments routed to their departments; staff of the issuing bureau
(coordinators) see every comment of the consultations it issued; superusers see everything.
"""

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from consult.consultations.models import Consultation, Membership

from .models import Comment, CommentRouting


def user_department_ids(user) -> list[int]:
    """The user's departments, looked up once per user object (that is, once per request).

    Filtering by these ids rather than joining memberships into every query keeps the plans
    simple at a million comments.
    """
    cached = getattr(user, "_consult_department_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user).order_by().values_list("department_id", flat=True)
        )
        user._consult_department_ids = cached
    return cached


def acts_as_staff(user) -> bool:
    """An active member of staff: the only users the rules below give anything to."""
    return user is not None and user.is_authenticated and user.is_active and user.is_staff


def routes_of_departments(department_ids):
    """The routings of the outer query's comment (`OuterRef("pk")`) to any of these departments.

    The subquery behind "routed to my departments": wrap it in `Exists`, or take a value of
    its first row in `Subquery`, in a query over comments.
    """
    return CommentRouting.objects.filter(comment=OuterRef("pk"), department_id__in=department_ids)


def comments_visible_to(user, comments=None):
    comments = Comment.objects.all() if comments is None else comments
    if not acts_as_staff(user):
        return comments.none()
    if user.is_superuser:
        return comments
    departments = user_department_ids(user)
    if not departments:
        return comments.none()
    issued = list(Consultation.objects.coordinated_by(departments).values_list("pk", flat=True))
    routed = routes_of_departments(departments)
    return comments.filter(Q(consultation_id__in=issued) | Q(Exists(routed)))


def comment_visible_to(user, comment) -> bool:
    return comments_visible_to(user, Comment.objects.filter(pk=comment.pk)).exists()


def consultations_open_to_letters_from(user):
    """Where a member of staff may record letters and emails received: the consultations their
    bureau issued, and those with a clause their department is responsible for."""
    if not acts_as_staff(user):
        return Consultation.objects.none()
    if user.is_superuser:
        return Consultation.objects.all()
    departments = user_department_ids(user)
    return Consultation.objects.filter(
        Q(pk__in=Consultation.objects.coordinated_by(departments))
        | Q(clauses__responsibilities__department_id__in=departments)
    ).distinct()


def comments_contact_visible_to(user, comments=None):
    """Of the comments this user sees, those whose submitter's details it sees in full.

    The name, phone, email and attached letters of a comment are shown to the department
    that answers it (the owner), to the issuing bureau's staff (coordinators) and to
    superusers; cooperating departments see them masked (`privacy.py`). The admin's change
    page, its search, the attachment download and exports all ask here.
    """
    comments = comments_visible_to(user, comments)
    condition = _contact_visible_condition(user)
    return comments if condition is None else comments.filter(condition)


def contact_visible_expression(user):
    """`comments_contact_visible_to` as a boolean per comment, for an annotation: correlated to
    each row (a join for the planner, not a rescan of every visible comment per row).

    The owner's route is looked up by a subquery of one row, not EXISTS: in a SELECT list
    PostgreSQL may run an EXISTS as a hash of every route its departments answer, built before
    the first row — 150 ms of the queue's first page at a million comments, for 50 rows."""
    if user.is_superuser:
        return Value(True)
    issued, answered = _contact_visible_parts(user)
    answers = Coalesce(Subquery(answered.values("is_owner")[:1]), Value(False))
    return ExpressionWrapper(
        Q(consultation_id__in=issued) | Q(answers), output_field=BooleanField()
    )


def _contact_visible_condition(user):
    """None: every comment the user sees (a superuser); otherwise the condition on a comment."""
    if user.is_superuser:
        return None
    issued, answered = _contact_visible_parts(user)
    return Q(consultation_id__in=issued) | Q(Exists(answered))


def _contact_visible_parts(user):
    """The consultations the user's bureau issued, and the routes of the outer comment to the
    user's departments that answer it."""
    departments = user_department_ids(user)
    issued = list(Consultation.objects.coordinated_by(departments).values_list("pk", flat=True))
    return issued, routes_of_departments(departments).filter(is_owner=True)


def comment_contact_visible_to(user, comment) -> bool:
    return comments_contact_visible_to(user, Comment.objects.filter(pk=comment.pk)).exists()


def consultations_coordinated_by_user(user):
    """The consultations whose reports, outbox and reminders this user may act on: those their
    bureau issued (every one, for a superuser)."""
    if not acts_as_staff(user):
        return Consultation.objects.none()
    if user.is_superuser:
        return Consultation.objects.all()
    return Consultation.objects.coordinated_by(user_department_ids(user))


def notifications_visible_to(user, notifications):
    """Notifications of the consultations the user coordinates, or addressed to one of their
    departments; everything for a superuser."""
    if acts_as_staff(user) and user.is_superuser:
        return notifications
    return notifications.filter(
        Q(consultation__in=consultations_coordinated_by_user(user))
        | Q(department_id__in=user_department_ids(user) if user else [])
    )
