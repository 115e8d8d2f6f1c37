"""Working a comment: every change staff make, validated in one place and recorded as history.

The admin's change form, its bulk actions and any future API all call `comment_change_apply`, which
checks who may do what (`change_problems`), applies the change under a row lock and writes a
`CommentEvent` per change. A change made on a page carries the version the page showed
(`comment_version`): one made on a page read before a colleague's change is refused, never
applied over it. Mail (the citizen's reply, a department newly routed) goes through
the notification outbox after commit.

Who may do what:
* the owning department (牵头/统筹, `is_owner`) answers: status, decision and its reason, reply
  (each of which it may also empty, `CommentChange.cleared`); an answered or invalid comment is
  reopened before any of them changes;
* the owning department passes a comment that is not its own on (转办, `make_owner`) and leaves
  it: no longer routed to it, it is neither asked for an opinion nor reminded (it sees the
  comment afterwards only if `access` lets it, as its coordinator). When a coordinator or a
  superuser moves the answer elsewhere, the previous owner stays on as a cooperating department;
* cooperating departments give their opinion, which the owner sees; the owner's answer waits
  until every cooperating department has given one, or the owner says why it proceeds without;
* the issuing bureau's staff (coordinators) route comments on, mark them invalid (the reason
  goes only with that change) and reopen them, but do not answer in a department's name;
* superusers may do everything.
"""

import dataclasses

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from consult.consultations.models import Department, period_over_at

from .access import comment_visible_to, user_department_ids
from .models import Comment, CommentEvent, CommentRouting, CooperatingOpinion
from .notifying import (
    comment_changed_parts_emails_rendered_again,
    comment_departed_notices_withdraw,
    comment_reply_withdraw,
    comment_reply_write,
    comment_routed_again_write,
)
from .publication import report_publication_lock, report_published_on_its_draft
from .revision_outcomes import comment_answer_deadline
from .tallies import counts_publicly, tally_add
from .validation import clean_text

Status = Comment.Status

# Where each status may go next. Reopening an answered comment lets its reply be corrected.
TRANSITIONS = {
    Status.PENDING: {Status.IN_PROGRESS, Status.ANSWERED, Status.INVALID},
    Status.IN_PROGRESS: {Status.PENDING, Status.ANSWERED, Status.INVALID},
    Status.ANSWERED: {Status.IN_PROGRESS},
    Status.INVALID: {Status.PENDING},
}


@dataclasses.dataclass
class CommentChange:
    """What a member of staff asks to change; empty fields change nothing, except those named
    in `cleared`, which are emptied."""

    status: str = ""
    decision: str = ""
    decision_reason: str = ""
    reply: str = ""
    invalid_reason: str = ""
    note: str = ""
    opinion: str = ""
    # Whose opinion it is, for a member of two cooperating departments on the comment.
    opinion_department: Department | None = None
    waive_reason: str = ""
    route_to: Department | None = None
    make_owner: bool = False
    route_reason: str = ""
    # Of CLEARABLE, the fields to empty: the change page's user emptied them (`clears_of` adds
    # the reason of a decision replaced without one). A field given a value here is set.
    cleared: frozenset[str] = frozenset()
    # The comment's `comment_version` on the page the change was made on; None (the bulk
    # actions, which change what the comment is at that moment) checks none.
    version: int | None = None


# The texts of a change, and their longest (None: a text column, as long as it likes).
_TEXT_LIMITS = {
    "decision_reason": None,
    "reply": None,
    "invalid_reason": Comment._meta.get_field("invalid_reason").max_length,
    "note": None,
    "opinion": None,
    "waive_reason": None,
    "route_reason": None,
}


# The answer's parts a change may empty. A reason given for one decision must not stay beside
# another: it is shown to the citizen, exported and published with it.
CLEARABLE = ("decision", "decision_reason", "reply")


def clears_of(comment: Comment, work: CommentChange) -> set[str]:
    """The fields this change really empties: named in `cleared`, not empty already, given no
    new value by the same change; and the reason of a decision this change replaces, unless
    it gives one (the change page gives the one its user kept)."""
    names = set(work.cleared)
    if unknown := names - set(CLEARABLE):
        raise ValueError(f"Not a field a change may empty: {sorted(unknown)}")
    if work.decision and work.decision != comment.decision:
        names.add("decision_reason")
    return {name for name in names if getattr(comment, name) and not getattr(work, name).strip()}


@dataclasses.dataclass(frozen=True)
class Standing:
    """How a user stands towards one comment."""

    superuser: bool
    owner: bool
    coordinator: bool
    cooperating_departments: tuple[int, ...]

    @property
    def answers(self):
        return self.superuser or self.owner

    @property
    def manages(self):
        return self.superuser or self.owner or self.coordinator


def standing(user, comment: Comment) -> Standing:
    member_of = set(user_department_ids(user)) if user.is_active else set()
    routes = list(comment.routes.all())
    return Standing(
        superuser=user.is_superuser,
        owner=any(r.is_owner and r.department_id in member_of for r in routes),
        coordinator=comment.consultation.is_coordinated_by(member_of),
        cooperating_departments=tuple(
            r.department_id for r in routes if not r.is_owner and r.department_id in member_of
        ),
    )


CHANGED_SINCE_OPENED = gettext_lazy("这条意见在您打开后已被他人修改，请刷新后再办理。")


def comment_version(comment: Comment) -> int:
    """The comment as a page showed it: the id of its latest history entry, 0 before any.

    Every change `comment_change_apply` makes writes one, under the comment's row lock, so a
    later change always has a higher id.
    """
    return comment.events.order_by("-pk").values_list("pk", flat=True).first() or 0


def version_is_stale(comment: Comment, version: int | None) -> bool:
    """Whether a page showing this version was read before the comment's latest change; no
    version (a bulk action, which changes the comment as it is) never is."""
    return version is not None and version != comment_version(comment)


def comment_changes_since(comment: Comment, version: int):
    """The history entries a page showing this version does not show, as the history lists them."""
    return (
        comment.events.filter(pk__gt=version)
        .select_related("actor", "department")
        .order_by("at", "pk")
    )


def comment_lock(comment_id: int) -> Comment:
    """The comment re-read and locked until the transaction ends: the lock every change takes."""
    # Not the consultation row: citizens' comments on it would wait on every change (their
    # foreign key checks share its lock), and the campaign job locks it before comments.
    return (
        Comment.objects.select_for_update(of=("self",))
        .select_related("consultation")
        .get(pk=comment_id)
    )


def opinions_missing(comment: Comment) -> list[str]:
    """Names of the cooperating departments that have not given their opinion yet."""
    given = set(comment.opinions.values_list("department_id", flat=True))
    return [
        route.department.name
        for route in comment.routes.select_related("department").order_by("position")
        if not route.is_owner and route.department_id not in given
    ]


def change_problems(comment: Comment, user, work: CommentChange, me=None) -> dict[str, list[str]]:
    """Everything wrong with this change, by form field; empty when it may go ahead."""
    problems: dict[str, list[str]] = {}

    def refuse(field, message):
        problems.setdefault(field, []).append(message)

    if version_is_stale(comment, work.version):
        # Every value on that page may be out of date: none of them is taken as a request.
        refuse(NON_FIELD_ERRORS, str(CHANGED_SINCE_OPENED))
        return problems

    for name, limit in _TEXT_LIMITS.items():
        # The change page, the bulk actions and every other path that writes these texts.
        try:
            clean_text(getattr(work, name), field=name, max_length=limit)
        except ValidationError as error:
            problems[name] = error.messages
    if problems:
        return problems

    me = me or standing(user, comment)
    status = work.status or comment.status
    finished = comment.status in (Status.ANSWERED, Status.INVALID)
    moving = bool(work.status) and work.status != comment.status
    statuses = dict(Status.choices)

    if moving:
        if work.status not in TRANSITIONS.get(comment.status, set()):
            refuse(
                "status",
                _("不能从“%(before)s”改为“%(after)s”。")
                % {"before": statuses[comment.status], "after": statuses[work.status]},
            )
        elif work.status == Status.ANSWERED and not me.answers:
            refuse("status", _("只有负责答复的单位可以答复这条意见。"))
        elif not me.manages:
            refuse("status", _("只有负责答复的单位或牵头统筹单位可以改变这条意见的状态。"))
    clears = clears_of(comment, work)
    answer_fields = [
        name
        for name in ("decision", "decision_reason", "reply")
        if getattr(work, name).strip() or name in clears
    ]
    if answer_fields and not me.answers:
        refuse(answer_fields[0], _("只有负责答复的单位可以填写处理意见和答复。"))
    acting = (
        moving
        or answer_fields
        or work.invalid_reason.strip()
        or work.waive_reason.strip()
        or work.route_to is not None
    )
    if finished and acting and report_published_on_its_draft(comment):
        # Its outcome is what the published report counts, and public with it (README:
        # a published report is neither counted again nor edited). A note may still be added.
        refuse(
            NON_FIELD_ERRORS,
            _("本稿的意见采纳情况已公布，这条意见的办理结果已随之公开，不能再修改。"),
        )
        return problems
    if work.invalid_reason.strip():
        if not me.manages:
            refuse(
                "invalid_reason",
                _("只有负责答复的单位或牵头统筹单位可以将意见标记为无效。"),
            )
        elif not (moving and work.status == Status.INVALID) and (moving or not finished):
            # Given with marking the comment invalid, recorded by that status event.
            refuse("invalid_reason", _("无效原因只在将意见标记为无效时填写。"))

    def after(name):
        # The field as this change leaves it.
        return "" if name in clears else (getattr(work, name) or getattr(comment, name))

    decision = after("decision")
    reason = after("decision_reason")
    if status == Status.ANSWERED and work.status == Status.ANSWERED:
        if not decision:
            refuse("decision", _("答复前请选择处理意见（采纳、部分采纳、不予采纳或已说明）。"))
        if not after("reply").strip():
            refuse("reply", _("请填写给提交人的答复。"))
        waived = work.waive_reason.strip() or comment.opinions_waived_reason
        if (missing := opinions_missing(comment)) and not waived:
            refuse(
                "waive_reason",
                _("以下配合单位尚未回复意见：%(departments)s。请等待，或说明不等待的理由。")
                % {"departments": _("、").join(missing)},
            )
    if (
        decision == Comment.Decision.NOT_ADOPTED
        and (work.decision or "decision_reason" in clears)
        and not reason.strip()
    ):
        refuse("decision_reason", _("不予采纳时请说明理由。"))
    if (
        work.status == Status.INVALID
        and not (work.invalid_reason or comment.invalid_reason).strip()
    ):
        refuse("invalid_reason", _("标记为无效时请说明原因（如广告、与本草案无关）。"))
    if (
        finished
        and not moving
        and (
            # The reason for not waiting is the answer's too: rewritten after it, it would justify
            # an answer given on other grounds (found by a review).
            answer_fields or work.invalid_reason.strip() or work.waive_reason.strip()
        )
    ):
        if comment.status == Status.INVALID:
            # TRANSITIONS: an invalid comment goes back to 待处理, not to 处理中.
            refuse("status", _("这条意见已标记为无效；如需办理，请先改回“待处理”。"))
        else:
            refuse("status", _("这条意见已办结；如需修改答复，请先改回“处理中”。"))

    if work.opinion.strip():
        if not me.cooperating_departments:
            refuse("opinion", _("只有配合单位可以填写配合意见。"))
        elif comment.status in (Status.ANSWERED, Status.INVALID):
            refuse("opinion", _("这条意见已办结，不能再填写配合意见。"))
        elif work.opinion_department is not None:
            if work.opinion_department.pk not in me.cooperating_departments:
                refuse("opinion_department", _("您不是该配合单位的工作人员。"))
        elif len(me.cooperating_departments) > 1:
            # One department's opinion saved over the other's, and the other stayed missing.
            refuse("opinion_department", _("您属于多个配合单位，请选择以哪个单位的名义提出意见。"))
    if work.waive_reason.strip() and not me.answers:
        refuse("waive_reason", _("只有负责答复的单位可以决定不等待配合意见。"))

    if work.route_to is None and (work.make_owner or work.route_reason.strip()):
        # Asked for, and nothing to do it with: refused rather than saved without it.
        refuse("route_to", _("请选择要转办或增加的单位。"))
    if work.route_to is not None:
        if not me.manages:
            refuse("route_to", _("只有负责答复的单位或牵头统筹单位可以转办。"))
        if finished and not moving:
            # The department would be told to handle a comment with nothing left to do on it.
            refuse(
                "route_to",
                _("这条意见已办结，不能再转办或增加单位；如需重新办理，请先改回“处理中”。"),
            )
        elif status in (Status.ANSWERED, Status.INVALID):
            # Finished by the same change: the department would be told to answer, or to give
            # an opinion, on a comment it can no longer do anything about.
            refuse(
                "route_to",
                _("答复或标记无效时不能同时转办或增加单位：请先转办或增加单位，再办结。"),
            )
        if not work.route_reason.strip():
            refuse("route_reason", _("转办或增加单位时请说明理由。"))
        if not work.route_to.is_active:
            refuse("route_to", _("该部门已停用。"))
        existing = comment.routes.filter(department=work.route_to).first()
        if existing and (existing.is_owner or not work.make_owner):
            refuse("route_to", _("这条意见已经分办给该部门。"))
    return problems


def change_check(comment: Comment, user, work: CommentChange, me=None) -> None:
    if not comment_visible_to(user, comment):
        raise PermissionDenied
    if problems := change_problems(comment, user, work, me):
        raise ValidationError(problems)


@transaction.atomic
def comment_change_apply(comment: Comment, user, work: CommentChange, *, now=None) -> Comment:
    """Apply one member of staff's change to a comment, or raise ValidationError."""
    now = now or timezone.now()
    comment = comment_lock(comment.pk)
    if comment.status in (Status.ANSWERED, Status.INVALID):
        # Its outcome may be what a report being published now counts: that waits, or this
        # sees it published (change_problems).
        report_publication_lock(comment.consultation_id)
    me = standing(user, comment)
    change_check(comment, user, work, me)
    events = []

    def record(kind, before="", after="", text="", department_id=None):
        events.append(
            CommentEvent(
                comment=comment,
                kind=kind,
                actor=user,
                before=before,
                after=after,
                text=text,
                department_id=department_id,
                at=now,
            )
        )

    if work.opinion.strip():
        department_id = (
            work.opinion_department.pk
            if work.opinion_department is not None
            else me.cooperating_departments[0]
        )
        CooperatingOpinion.objects.update_or_create(
            comment=comment,
            department_id=department_id,
            defaults={"text": work.opinion.strip(), "author": user, "updated_at": now},
        )
        record(CommentEvent.Kind.OPINION, text=work.opinion.strip(), department_id=department_id)
    if work.waive_reason.strip():
        comment.opinions_waived_reason = work.waive_reason.strip()
        record(CommentEvent.Kind.WAIVED, text=comment.opinions_waived_reason)
    elif work.route_to is not None and comment.opinions_waived_reason:
        # The reason was given for the departments asked then: a department added since, or a
        # new one answering, is waited for (or waived) anew.
        comment.opinions_waived_reason = ""
        record(CommentEvent.Kind.WAIVED)
    clears = clears_of(comment, work)
    reason = work.decision_reason.strip()
    if work.decision and work.decision != comment.decision:
        record(CommentEvent.Kind.DECISION, comment.decision, work.decision, reason)
        comment.decision = work.decision
    elif "decision" in clears:
        record(CommentEvent.Kind.DECISION, comment.decision, "")
        comment.decision = ""
    elif reason and reason != comment.decision_reason:
        # The same decision, a new reason: recorded like a decision, its reason as the text.
        record(CommentEvent.Kind.DECISION, comment.decision, comment.decision, reason)
    if reason:
        comment.decision_reason = reason
    elif "decision_reason" in clears:
        # Like a new reason, without one (event_in_words: "理由已删除").
        record(CommentEvent.Kind.DECISION, comment.decision, comment.decision)
        comment.decision_reason = ""
    if work.reply.strip() and work.reply.strip() != comment.reply:
        comment.reply = work.reply.strip()
        record(CommentEvent.Kind.REPLY, text=comment.reply)
    elif "reply" in clears:
        comment.reply = ""
        record(CommentEvent.Kind.REPLY)
    if work.invalid_reason.strip():
        # Only with marking the comment invalid (change_problems), recorded by its status event.
        comment.invalid_reason = work.invalid_reason.strip()
    answered_now = False
    if work.status and work.status != comment.status:
        record(CommentEvent.Kind.STATUS, comment.status, work.status, work.invalid_reason.strip())
        answered_now = work.status == Status.ANSWERED
        counted = counts_publicly(work.status) - counts_publicly(comment.status)
        if counted:
            # A published comment marked invalid leaves the public list, and its count.
            tally_add(
                consultation_id=comment.consultation_id,
                clause_id=comment.clause_id,
                delta=counted,
                published=counted if comment.is_published else 0,
            )
        if comment.status == Status.ANSWERED:
            comment_reply_withdraw(comment)
        comment.status = work.status
        # When the answer in force was given: none while a reopened comment is worked again.
        comment.replied_at = now if answered_now else None
        if work.status != Status.INVALID:
            comment.invalid_reason = ""
    comment.save(
        update_fields=[
            "status",
            "decision",
            "decision_reason",
            "reply",
            "replied_at",
            "invalid_reason",
            "opinions_waived_reason",
        ]
    )
    route = None
    if work.route_to is not None:
        route = _route_to(comment, work, now, me)
        record(
            CommentEvent.Kind.ROUTED,
            # The role's value: event_in_words names it in the reader's language.
            after=route.role,
            text=work.route_reason.strip(),
            department_id=work.route_to.pk,
        )
    if work.note.strip():
        record(CommentEvent.Kind.NOTE, text=work.note.strip())
    CommentEvent.objects.bulk_create(events)

    if answered_now and comment.email:
        comment_reply_write(comment, key=f"reply:{comment.pk}:{now.isoformat()}")
    if route is not None:
        comment_routed_again_write(comment, route, reason=work.route_reason.strip())
    return comment


def _route_to(comment: Comment, work: CommentChange, now, me: Standing) -> CommentRouting:
    department = work.route_to
    if work.make_owner:
        previous = comment.routes.filter(is_owner=True)
        if me.owner:
            # Passed on by the department that answered it: not its comment, so it leaves it
            # (no opinion awaited from it, nothing in its to-do, reminders or digests).
            departed = list(previous.values_list("department_id", flat=True))
            previous.delete()
            comment_departed_notices_withdraw(comment, departed)
        else:
            # Moved by a coordinator or a superuser: the previous owner's view may still help.
            demoted = list(
                previous.exclude(department=department).values_list("department_id", flat=True)
            )
            previous.update(is_owner=False, role=CommentRouting.Role.COOPERATING)
        route, _created = CommentRouting.objects.update_or_create(
            comment=comment,
            department=department,
            defaults={"is_owner": True, "role": CommentRouting.Role.LEAD, "created_at": now},
        )
        if not me.owner:
            # Its emails waiting for a retry name the new owner, as they will when they go.
            comment_changed_parts_emails_rendered_again(comment, demoted)
        return route
    last = comment.routes.order_by("-position").values_list("position", flat=True).first() or 0
    return CommentRouting.objects.create(
        comment=comment,
        department=department,
        role=CommentRouting.Role.COOPERATING,
        is_owner=False,
        position=last + 1,
        created_at=now,
    )


# What the change form offers each standing -----------------------------------------------

# The change form's worked fields, in the order it shows them.
FORM_FIELDS = (
    "status",
    "decision",
    "decision_reason",
    "reply",
    "invalid_reason",
    "opinion",
    "opinion_department",
    "waive_reason",
    "route_to",
    "make_owner",
    "route_reason",
    "note",
)


def fields_open_to(me: Standing, comment: Comment) -> list[str]:
    """The worked fields this standing may use on this comment: the form shows only these.

    The same rules as `change_problems`, read the other way round; that function still
    decides, so a field posted by hand is refused there.
    """
    names = {"note"}
    if me.answers:
        names |= {"status", "decision", "decision_reason", "reply", "invalid_reason"}
        if (
            comment.status in Comment.OPEN_STATUSES
            and comment.routes.filter(is_owner=False).exists()
        ):
            names.add("waive_reason")
    if me.manages:
        names |= {"status", "invalid_reason", "route_to", "make_owner", "route_reason"}
    if me.cooperating_departments and comment.status in Comment.OPEN_STATUSES:
        names.add("opinion")
        if len(me.cooperating_departments) > 1:
            names.add("opinion_department")
    return [name for name in FORM_FIELDS if name in names]


def statuses_open_to(me: Standing, comment: Comment) -> list[str]:
    """The comment's status and those this standing may move it to, in their usual order."""
    allowed = {comment.status}
    if me.manages:
        allowed |= {
            status
            for status in TRANSITIONS.get(comment.status, set())
            if status != Status.ANSWERED or me.answers
        }
    return [value for value, _label in Status.choices if value in allowed]


def answer_duty(comment: Comment, me: Standing | None = None, *, now=None) -> str:
    """One line for staff: who answers this comment and by when (the answer deadline of the
    draft it was written on, `reminders.comment_answer_deadline`), and what this user does."""
    now = now or timezone.now()
    owner = next((r.department.name for r in comment.routes.all() if r.is_owner), "—")
    deadline = comment_answer_deadline(comment)
    due = timezone.localtime(deadline)
    # A deadline at its day's last second is that date; another is given to the second.
    shown = (
        "%Y-%m-%d" if (due.hour, due.minute, due.second) == (23, 59, 59) else "%Y-%m-%d %H:%M:%S"
    )
    line = _("由%(owner)s负责答复，答复期限 %(deadline)s") % {
        "owner": owner,
        "deadline": due.strftime(shown),
    }
    if comment.status == Status.ANSWERED and comment.replied_at:
        line += _("（已于 %(date)s 答复）") % {
            "date": timezone.localtime(comment.replied_at).strftime("%Y-%m-%d")
        }
    elif comment.status in Comment.OPEN_STATUSES:
        # Beijing calendar days, and the deadline's whole last second, as the queue's mark.
        days = (due.date() - timezone.localdate(now)).days
        if period_over_at(deadline, now):
            overdue = ngettext("（已逾期 %(days)d 天）", "（已逾期 %(days)d 天）", -days)
            line += overdue % {"days": -days} if days else _("（已逾期）")
        else:
            left = ngettext("（还有 %(days)d 天）", "（还有 %(days)d 天）", days)
            line += left % {"days": days} if days else _("（今天到期）")
    if me is None:
        return _("%(line)s。") % {"line": line}
    if me.answers:
        part = _("您的单位负责答复。")
    elif me.coordinator:
        part = _("您是发布单位（统筹）：可以转办、标记无效或退回，答复由负责单位填写。")
    elif me.cooperating_departments:
        part = _("您的单位是配合单位：请填写配合意见，负责答复的单位会参考。")
    else:
        part = ""
    return (_("%(line)s。%(part)s") % {"line": line, "part": part}).strip()


def event_in_words(event: CommentEvent) -> str:
    """A history entry as staff read it: “待处理 → 处理中”, not the stored values."""
    Kind = CommentEvent.Kind
    if event.kind == Kind.STATUS:
        labels = dict(Status.choices)
    elif event.kind == Kind.DECISION:
        labels = dict(Comment.Decision.choices)
    elif event.kind == Kind.PUBLICATION:
        labels = dict(Comment.Publication.choices)
    elif event.kind == Kind.ROUTED:
        # Entries from before the value was stored hold the label, in the actor's language.
        labels = dict(CommentRouting.Role.choices)
    else:
        labels = {}
    before = labels.get(event.before, event.before) if event.before else ""
    after = labels.get(event.after, event.after) if event.after else ""
    if event.kind == Kind.DECISION and event.before == event.after:
        if not event.text:
            return _("%(decision)s（理由已删除）") % {"decision": after or "—"}
        return _("%(decision)s（理由已更新）") % {"decision": after}
    if event.kind == Kind.REPLY and not event.text:
        return _("已删除")
    if event.kind == Kind.WAIVED and not event.text:
        return _("理由不再适用：此后办理的单位有变化（转办、增加单位或改为对其他条款的意见）")
    if event.kind in (Kind.STATUS, Kind.DECISION, Kind.PUBLICATION):
        return f"{before or '—'} → {after or '—'}"
    if event.kind == Kind.ROUTED and after:
        return _("职责：%(role)s") % {"role": after}
    return ""
