"""Clauses a whole-draft comment cites, and moving a comment to the clause it is about.

A citizen who comments on the whole draft often names the clauses meant ("第三条",
"第（二）项第3点", "二(一)2"). `clause_suggestions` reads those citations
(notices.references) against the clauses of the draft the comment was written on; staff who
triage the comment accept one with `comment_move_to_clause`, which re-routes the comment to
that clause's departments as if it had been submitted there.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consult.consultations.models import Clause
from consult.notices.references import ClauseIndex, references_find, references_resolve

from .access import comment_visible_to
from .directory import directory_of
from .models import Comment, CommentEvent, CommentRouting
from .notifying import (
    comment_changed_parts_emails_rendered_again,
    comment_departed_notices_withdraw,
    comment_routed_again_write,
)
from .revision_outcomes import comment_revision_id
from .tallies import counts_publicly, tally_add
from .validation import clause_check
from .workflow import standing


@dataclass
class ClauseSuggestion:
    """A clause the comment cites, with the citations as the citizen wrote them."""

    clause: Clause
    cited: list[str] = field(default_factory=list)


def clause_suggestions(comment: Comment) -> list[ClauseSuggestion]:
    """The clauses a whole-draft comment's text cites, in the order first cited.

    Only citations that name exactly one clause of the draft it was written on are suggested
    (notices.references resolves conservatively); a comment on a clause gets none.
    """
    if comment.clause_id is not None or not comment.body:
        return []
    references = references_find(comment.body)
    if not references:
        return []
    clauses = Clause.objects.filter(consultation_id=comment.consultation_id)
    revision_id = comment_revision_id(comment)
    if revision_id is not None:
        clauses = clauses.filter(revision_id=revision_id)
    by_pk = {clause.pk: clause for clause in clauses.order_by("path")}
    index = ClauseIndex([(clause.label, clause.pk) for clause in by_pk.values()])
    return [
        ClauseSuggestion(by_pk[pk], list(dict.fromkeys(ref.text for ref in cited)))
        for pk, cited in references_resolve(references, index).items()
    ]


def may_move(user, comment: Comment) -> bool:
    """Whether the user triages this comment: its answering department, the issuing bureau's
    staff (coordinators) or a superuser — those who may route it on (workflow)."""
    return comment_visible_to(user, comment) and standing(user, comment).manages


def still_movable(comment: Comment) -> bool:
    """Only a comment still being handled changes clause: an answer was given to the clause."""
    return comment.status in Comment.OPEN_STATUSES


def move_problems(comment: Comment, clause: Clause) -> dict[str, list[str]]:
    """What stands in the way of moving this comment to this clause; empty when nothing."""
    problems: dict[str, list[str]] = {}
    try:
        clause_check(comment.consultation, clause)
    except ValidationError as error:
        problems["clause"] = error.messages
        return problems
    revision_id = comment_revision_id(comment)
    if revision_id is not None and clause.revision_id != revision_id:
        problems["clause"] = [_("该条款不属于这条意见所针对的文本。")]
    elif clause.pk == comment.clause_id:
        problems["clause"] = [_("这条意见已经是对该条款的意见。")]
    if not still_movable(comment):
        problems.setdefault("clause", []).append(
            _("这条意见已办结，不能再改到其他条款；如需修改，请先改回“处理中”。")
        )
    return problems


def comment_move_to_clause(comment: Comment, clause: Clause, *, by, now=None) -> Comment:
    """Make the comment one on `clause` and route it as the clause routes comments, in one
    transaction: its routing replaced by the clause's, the public counts moved with it, the
    change in its history, and every department newly responsible (or responsible in a new
    role) told after commit. Raises PermissionDenied or ValidationError; changes nothing then.
    """
    now = now or timezone.now()
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update(of=("self",))
            .select_related("consultation", "clause")
            .get(pk=comment.pk)
        )
        if not may_move(by, comment):
            raise PermissionDenied
        if problems := move_problems(comment, clause):
            raise ValidationError(problems)
        decided = directory_of(comment.consultation).routes.get(clause.pk)
        if decided is None:  # a clause added since this process read the directory
            raise ValidationError({"clause": [_("该条款不属于本次征求意见。")]})

        # Stored in the history and emailed to the departments: in the site's language, not in
        # that of the admin of whoever moved it.
        with translation.override(settings.LANGUAGE_CODE):
            before_label = comment.clause.label if comment.clause_id else _("全文")
            reason = _("意见引用了%(clause)s，改为对该条款的意见。") % {"clause": clause.label}
            note = _("条款由“%(before)s”改为“%(after)s”。") % {
                "before": before_label,
                "after": str(clause),
            }
        _tally_move(comment, to_clause_id=clause.pk)
        comment.clause = clause
        comment.save(update_fields=["clause"])

        earlier = {(r.department_id, r.role, r.is_owner) for r in comment.routes.all()}
        comment.routes.all().delete()
        routes = CommentRouting.objects.bulk_create(
            CommentRouting(
                comment=comment,
                department_id=route.department,
                role=route.role.value,
                is_owner=route.is_owner,
                position=position,
                created_at=now,
            )
            for position, route in enumerate(decided)
        )
        changed = [
            route
            for route in routes
            if (route.department_id, route.role, route.is_owner) not in earlier
        ]
        comment_departed_notices_withdraw(
            comment,
            {department_id for department_id, _role, _owner in earlier}
            - {route.department_id for route in routes},
        )
        comment_changed_parts_emails_rendered_again(
            comment,
            {route.department_id for route in changed}
            & {department_id for department_id, _role, _owner in earlier},
        )
        CommentEvent.objects.bulk_create(
            [
                CommentEvent(
                    comment=comment,
                    kind=CommentEvent.Kind.NOTE,
                    actor=by,
                    before=before_label[:100],
                    after=clause.label[:100],
                    text=note,
                    at=now,
                ),
                *(
                    CommentEvent(
                        comment=comment,
                        kind=CommentEvent.Kind.ROUTED,
                        actor=by,
                        after=route.role,
                        text=reason,
                        department_id=route.department_id,
                        at=now,
                    )
                    for route in changed
                ),
                *_waiver_withdrawn(comment, by=by, now=now, routes_changed=bool(changed)),
            ]
        )
        for route in changed:
            comment_routed_again_write(comment, route, reason=reason)
    return comment


def _waiver_withdrawn(comment: Comment, *, by, now, routes_changed: bool) -> list[CommentEvent]:
    """A reason not to wait for the cooperating departments was given for those asked then:
    with the clause's departments in their place, they are waited for (or waived) anew, as
    when a department is added (`comment_change_apply`). The history event, if any."""
    if not routes_changed or not comment.opinions_waived_reason:
        return []
    comment.opinions_waived_reason = ""
    comment.save(update_fields=["opinions_waived_reason"])
    return [CommentEvent(comment=comment, kind=CommentEvent.Kind.WAIVED, actor=by, at=now)]


def _tally_move(comment: Comment, *, to_clause_id: int) -> None:
    """The comment counts (and, published, shows) under its new clause instead of the old."""
    if not counts_publicly(comment.status):
        return
    shown = int(comment.is_published)
    # The two clauses' rows in one order, whichever way the comment moves: two moves the
    # opposite way at once locked them crosswise (a deadlock, and a 500 for one of the staff).
    changes = sorted(((comment.clause_id, -1), (to_clause_id, 1)), key=lambda c: c[0] or 0)
    for clause_id, sign in changes:
        tally_add(
            consultation_id=comment.consultation_id,
            clause_id=clause_id,
            delta=sign,
            published=sign * shown,
        )
