"""Storing a comment: validation, routing and the tracking number, in one transaction."""

import contextlib
import datetime
import hashlib
import hmac
import secrets
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower, Trim
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consult.bulk import Dependents, rows_insert_with, values_insert
from consult.consultations.models import Consultation, Revision
from consult.notifications.models import Notification
from consult.text import FORBIDDEN_CONTROLS

from .access import consultations_open_to_letters_from
from .directory import directory_of
from .models import Attachment, Comment, CommentRouting
from .notifying import (
    comments_notification_values,
    comments_notifications_write,
    notifications_planned_publish,
    report_emails_withdraw,
)
from .publication import (
    publication_for_new_comment,
    report_publication_lock,
    report_published_on_its_draft,
)
from .routing import Route
from .tallies import counts_publicly, tally_statement
from .tracking import new_tracking_number
from .validation import clause_check, clause_open_check


class CommentPeriodClosed(Exception):
    """The consultation does not take comments at this moment."""

    def __init__(self, consultation, moment):
        self.consultation = consultation
        self.moment = moment
        super().__init__(str(consultation))


class SubmissionLimited(Exception):
    """Too many submissions: the edge's rate limit refused a comment that is not a repeat."""

    def __init__(self, wait: int):
        self.wait = wait  # seconds until every exceeded limit's window ends
        super().__init__(wait)


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def hash_ip(ip: str | None) -> str:
    if not ip:
        return ""
    key = settings.IP_HASH_KEY.encode("utf-8")
    return hmac.new(key, ip.encode("utf-8"), hashlib.sha256).hexdigest()


def routes_store(comments: list[Comment]) -> dict[int, tuple[Route, ...]]:
    """Store the routing of new comments (inside the transaction that stores them), as their
    consultation's directory decides it, in one insert; returns each comment's routes."""
    decided = {comment.pk: comment_routes_decided(comment) for comment in comments}
    values_insert(
        CommentRouting,
        [row for comment in comments for row in _route_values(comment, decided[comment.pk])],
    )
    return decided


def comment_routes_decided(comment: Comment) -> "tuple[Route, ...]":
    """Where a comment goes, as its consultation's directory decides it (no query)."""
    return directory_of(comment.consultation).routes[comment.clause_id]


def _route_values(comment: Comment, routes: "tuple[Route, ...]") -> list[dict]:
    return [
        {
            "comment_id": comment.pk,
            "department_id": route.department,
            "role": route.role.value,
            "is_owner": route.is_owner,
            "position": position,
            "created_at": comment.submitted_at,
        }
        for position, route in enumerate(routes)
    ]


def comments_route_unrouted(comment_ids: list[int]) -> int:
    """Route stored comments that have no routing yet — letters and emails recorded by staff,
    bulk imports — with their notifications, in one transaction; returns how many.

    Safe to run twice or concurrently: comments are locked, and routed ones are skipped.
    """
    with transaction.atomic():
        comments = list(
            Comment.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=comment_ids)
            .exclude(Exists(CommentRouting.objects.filter(comment=OuterRef("pk"))))
            .select_related("consultation", "clause")
            .order_by("pk")
        )
        if not comments:
            return 0
        routes = routes_store(comments)
        comments_notifications_write([(comment, routes[comment.pk]) for comment in comments])
    return len(comments)


def comment_store(*, comment: Comment) -> Comment:
    """Save a validated, unsaved comment with a fresh tracking number, its routing, its
    notifications (the outbox) and its count, in one atomic write (`rows_insert_with`), in
    the caller's transaction if there is one.

    A tracking number already taken (one chance in 28**10) raises IntegrityError and spoils
    the caller's transaction; `tracking_number_retried` runs that transaction again. No
    savepoint per comment: this is the path every citizen's comment takes.
    """
    comment.body_digest = body_digest(comment.body)
    comment.tracking_number = new_tracking_number()
    routes = comment_routes_decided(comment)
    notifications = comments_notification_values([(comment, routes)])
    tally = (
        [
            tally_statement(
                consultation_id=comment.consultation_id, clause_id=comment.clause_id, delta=1
            )
        ]
        if counts_publicly(comment.status)
        else []
    )
    # One statement on PostgreSQL: the comment, its routes, its notifications and its count.
    _routes, notification_keys = rows_insert_with(
        comment,
        [
            Dependents(CommentRouting, _route_values(comment, routes), "comment_id"),
            Dependents(Notification, notifications, "comment_id", keyed=("key",)),
        ],
        tally,
    )
    notifications_planned_publish(notification_keys, notifications)
    return comment


def comment_check_clause(*, consultation, clause, check=clause_check):
    """`check` (validation.clause_check, or clause_open_check for a new letter), its refusal
    named for the clause field."""
    try:
        check(consultation, clause)
    except ValidationError as error:
        raise ValidationError({"clause": error}) from None


DUPLICATE_WINDOW = datetime.timedelta(minutes=10)
# How many of one submitter's recent tracking numbers are remembered.
_REMEMBERED_PER_SCOPE = 50


def _repeat_scope_cache_key(repeat_scope: str) -> str:
    return "comment-repeat-scope:" + hashlib.sha256(repeat_scope.encode("utf-8")).hexdigest()


def submissions_remembered(repeat_scope: str) -> list[str]:
    """The tracking numbers stored within the last ten minutes under this scope."""
    if not repeat_scope:
        return []
    return list(cache.get(_repeat_scope_cache_key(repeat_scope)) or [])


def submission_remember(repeat_scope: str, tracking_number: str, earlier=None) -> None:
    """Remember that this scope submitted the comment, for ten minutes (in the shared cache).

    Written before the transaction commits, under the lock that serialises identical
    submissions, so the second post of a double click sees it. A number whose comment was
    rolled back matches nothing; a lost entry only means a repeat is stored twice. `earlier`:
    what `submissions_remembered` said under the same lock, saving a second read.
    """
    if not repeat_scope:
        return
    if earlier is None:
        earlier = submissions_remembered(repeat_scope)
    numbers = [*earlier, tracking_number]
    cache.set(
        _repeat_scope_cache_key(repeat_scope),
        numbers[-_REMEMBERED_PER_SCOPE:],
        timeout=int(DUPLICATE_WINDOW.total_seconds()),
    )


def comment_find_repeat(
    *, consultation, clause, body: str, earlier, now, chosen: dict | None = None, attachment=None
) -> Comment | None:
    """The one rule for a repeat: among the submitter's own earlier submissions (`earlier`,
    their tracking numbers), one to the same place with the same text, sent within ten minutes
    — a double click, a resend, a client's retry — and with everything else the submitter
    chose the same: `chosen`, the comment's other fields as they would be stored (contact
    details, consents), and the attached file, byte for byte. A resend that adds a file or
    changes a choice is stored: it was not the same submission, and a repeat keeps nothing of
    it.

    Nobody else's comment is ever a repeat, however alike: the same text from another
    session or client is a comment of its own (campaign letters are all stored).
    """
    earlier = list(earlier)
    if not earlier:
        return None
    chosen = dict(chosen or {})
    email = chosen.pop("email", "")
    candidates = Comment.objects.filter(
        tracking_number__in=earlier,
        consultation=consultation,
        clause=clause,
        body_digest=body_digest(body),
        email__iexact=email or "",
        submitted_at__gte=now - DUPLICATE_WINDOW,
        **chosen,
    ).order_by("submitted_at", "pk")
    for candidate in candidates.prefetch_related("attachments"):
        if _same_attachment(list(candidate.attachments.all()), attachment):
            return candidate
    return None


def _same_attachment(stored: list[Attachment], upload) -> bool:
    """Whether the stored comment's file is the upload, byte for byte (neither has one: yes)."""
    if upload is None or not stored:
        return upload is None and not stored
    kept = stored[0]
    if kept.size != upload.size:
        return False
    upload.seek(0)
    with kept.file.open("rb") as handle:
        same = all(
            handle.read(len(chunk)) == chunk for chunk in upload.chunks()
        ) and not handle.read(1)
    upload.seek(0)
    return same


def _serialise_same_submissions(key: str) -> None:
    """Make two identical submissions arriving together wait for each other (PostgreSQL).

    SQLite's IMMEDIATE transactions already run one writer at a time.
    """
    if connection.vendor == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


@dataclass
class Submission:
    comment: Comment
    created: bool  # False: a repeat of the submitter's own comment, whose receipt is returned

    def routed_to(self) -> list[dict]:
        """Who the comment went to, in order: {"department": name, "role": role}. A new
        comment's come from the directory that routed it, with no query."""
        if self.created:
            directory = directory_of(self.comment.consultation)
            return [
                {"department": directory.departments[route.department].name, "role": route.role}
                for route in directory.routes[self.comment.clause_id]
            ]
        routes = self.comment.routes.select_related("department").order_by("position")
        return [{"department": route.department.name, "role": route.role} for route in routes]


def comment_submit(
    *,
    consultation,
    clause,
    body: str,
    channel: str,
    consent: bool,
    publish_consent: bool = False,
    notify_on_report: bool = False,
    attachment=None,
    attachment_type: str = "",
    ip: str | None = None,
    user_agent: str = "",
    repeat_scope: str = "",
    rate_limit: Callable[[], int] | None = None,
    now=None,
    **submitter,
) -> Submission:
    """Store a citizen's comment with its routing and notifications in one transaction.

    `submitter` holds what the citizen says of themselves (any of `SUBMITTER_FIELDS`; the
    model's defaults for the rest). Raises ValidationError for input that breaks a rule,
    CommentPeriodClosed outside the comment period and SubmissionLimited when `rate_limit`
    refuses it; nothing is stored in any case.

    `repeat_scope` names who is submitting, as far as repeats go: the web edge passes the
    browser session, the API the client's Idempotency-Key. A repeat (`comment_find_repeat`)
    of a comment submitted under the same scope within ten minutes stores nothing and returns
    the first one, whatever the period and the rate limit say: the double click whose first
    post was stored in the last second before the close, or as the last one under the limit,
    gets its receipt. Without a scope every submission is stored.

    `rate_limit`: the edge's count of this submission (`intake.limits`), the seconds to wait or
    0; called once, for a submission that is neither a repeat nor outside the period, just
    before it is stored.
    """
    _submitter_check(submitter)
    now = now or timezone.now()
    comment_check_clause(consultation=consultation, clause=clause)
    if not consent:
        raise ValidationError({"consent": _("请阅读并同意个人信息处理说明。")}, code="consent")
    ip_hash = hash_ip(ip)

    # Without a repeat to look for or a file to keep, storing is one atomic write
    # (`comment_store`): no transaction around it to open and commit, two round trips fewer.
    # Inside a caller's transaction, a transaction of its own (a savepoint) is what lets a
    # tracking number already taken be drawn again without spoiling the caller's.
    alone = (
        not repeat_scope and attachment is None and not transaction.get_connection().in_atomic_block
    )

    limit_counted = False
    notify_on_report = notify_on_report and bool(submitter.get("email"))
    chosen = (
        _chosen(submitter, publish_consent=publish_consent, notify_on_report=notify_on_report)
        if repeat_scope
        else {}
    )

    def stored() -> Submission | SubmissionLimited:
        nonlocal limit_counted
        with (
            uploads_removed_on_failure() as uploads,
            contextlib.nullcontext() if alone else transaction.atomic(),
        ):
            repeat, earlier = _repeat_found(
                repeat_scope, consultation, clause, body, chosen, now=now, attachment=attachment
            )
            # A repeat first: its comment was stored in time and within the limit.
            if repeat is not None:
                return Submission(comment=repeat, created=False)
            if not consultation.accepts_comments_at(now):
                raise CommentPeriodClosed(consultation, now)
            # Counted once, though a tracking number already taken runs this again.
            if rate_limit is not None and not limit_counted:
                limit_counted = True
                if wait := rate_limit():
                    # Raised once this transaction has committed: the database cache counts
                    # on this connection, and a rollback would forget the refused attempt.
                    return SubmissionLimited(wait)
            comment = comment_store(
                comment=_comment_new(
                    consultation=consultation,
                    clause=clause,
                    body=body,
                    channel=channel,
                    now=now,
                    notify_on_report=notify_on_report,
                    # Its own consent, apart from processing: the bureau reviews before publishing.
                    **publication_for_new_comment(publish_consent=publish_consent, now=now),
                    ip_hash=ip_hash,
                    # As sent, but for control characters: a NUL PostgreSQL refuses to store
                    # (a server other than gunicorn passes one on).
                    user_agent=FORBIDDEN_CONTROLS.sub("", user_agent or "")[:300],
                    **submitter,
                )
            )
            _attachment_keep(comment, attachment, attachment_type, uploads)
            submission_remember(repeat_scope, comment.tracking_number, earlier)
        return Submission(comment=comment, created=True)

    submission = tracking_number_retried(stored)
    if isinstance(submission, SubmissionLimited):
        raise submission
    return submission


def submission_repeated(
    *,
    repeat_scope: str,
    consultation,
    clause,
    body: str,
    publish_consent: bool = False,
    notify_on_report: bool = False,
    attachment=None,
    now=None,
    **submitter,
) -> Comment | None:
    """The comment this submission repeats (`comment_find_repeat`), storing nothing: what a
    page refused only for its CAPTCHA answers with, when it is a double click whose first post
    used the code up and was stored. Takes `comment_submit`'s arguments (the others ignored)."""
    for ignored in ("channel", "consent", "attachment_type", "ip", "user_agent", "rate_limit"):
        submitter.pop(ignored, None)
    notify_on_report = notify_on_report and bool(submitter.get("email"))
    return comment_find_repeat(
        consultation=consultation,
        clause=clause,
        body=body,
        earlier=submissions_remembered(repeat_scope),
        now=now or timezone.now(),
        chosen=_chosen(
            submitter, publish_consent=publish_consent, notify_on_report=notify_on_report
        ),
        attachment=attachment,
    )


def _chosen(submitter: dict, *, publish_consent: bool, notify_on_report: bool) -> dict:
    """What else a repeat must have chosen alike: the new comment's other fields as stored."""
    return {
        **_submitter_as_stored(submitter),
        "publish_consent": publish_consent,
        "notify_on_report": notify_on_report,
    }


def _repeat_found(repeat_scope, consultation, clause, body, chosen, *, now, attachment=None):
    """(the comment this submission repeats or None, the scope's earlier tracking numbers),
    in the caller's transaction: what `comment_find_repeat` says of it under the lock that
    makes identical submissions arriving together wait for each other. `chosen`: the new
    comment's other fields as they would be stored."""
    if repeat_scope:
        # Only a submission that can be a repeat waits for its twin arriving alongside; what
        # the scope sent before is read once the twin has had its turn.
        _serialise_same_submissions(f"{consultation.pk}:{body_digest(body)}")
    earlier = submissions_remembered(repeat_scope)
    repeat = comment_find_repeat(
        consultation=consultation,
        clause=clause,
        body=body,
        earlier=earlier,
        now=now,
        chosen=chosen,
        attachment=attachment,
    )
    return repeat, earlier


def _submitter_as_stored(submitter: dict) -> dict:
    """Each of `SUBMITTER_FIELDS` as the new comment would store it: given, or the default."""
    return {
        name: submitter.get(name, Comment._meta.get_field(name).get_default())
        for name in SUBMITTER_FIELDS
    }


SUBMITTER_FIELDS = frozenset(
    {"submitter_name", "submitter_kind", "organisation", "phone", "email", "wants_reply"}
)


def tracking_number_retried(store):
    """Run `store` — a whole transaction that stores a comment — again when the new tracking
    number it drew was taken already (comment_store)."""
    for _attempt in range(4):
        try:
            return store()
        except IntegrityError as error:
            if "tracking_number" not in str(error):
                raise
    return store()


def _submitter_check(submitter: dict) -> None:
    if unknown := submitter.keys() - SUBMITTER_FIELDS:
        raise TypeError(f"not a submitter's field: {', '.join(sorted(unknown))}")


def _comment_new(*, now, language=None, **fields) -> Comment:
    """An unsaved comment, its submitter's consent recorded now (sending it is the consent), in
    the language of the page or API request it came from (the site's, by default)."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    return Comment(consent=True, consent_at=now, submitted_at=now, language=language, **fields)


def _attachment_keep(comment, attachment, attachment_type, uploads) -> None:
    if attachment is not None:
        uploads.append(attachment_store(comment=comment, upload=attachment, kind=attachment_type))


@contextlib.contextmanager
def uploads_removed_on_failure():
    """Files are not part of the transaction: take the uploads away with a comment that fails.

    Enter it before the transaction, so the files go after the rollback.
    """
    stored: list[Attachment] = []
    try:
        yield stored
    except BaseException:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise


def attachment_store(*, comment: Comment, upload, kind: str) -> Attachment:
    """Keep a validated upload under a random name in the private storage."""
    from .attachments import CONTENT_TYPES

    attachment = Attachment(
        comment=comment,
        original_name=(upload.name or f"attachment.{kind}")[-255:],
        content_type=CONTENT_TYPES[kind],
        size=upload.size,
    )
    # The original name is shown to staff but never used as a path.
    attachment.file.save(f"{secrets.token_hex(16)}.{kind}", upload, save=False)
    try:
        attachment.save(force_insert=True)
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


def comment_subscribe_to_report(comment: Comment) -> bool:
    """The citizen asks, from the receipt page, for an email when the report on the draft they
    commented on is published; asked after it, nothing would ever be sent."""
    if not comment.email or report_published_on_its_draft(comment):
        return False
    Comment.objects.filter(pk=comment.pk).update(notify_on_report=True)
    comment.notify_on_report = True
    return True


@transaction.atomic
def report_emails_stop(comment: Comment) -> int:
    """The citizen asks for no more emails about the report and the later drafts of this
    consultation (the link in each of them): every comment of theirs there, by address, stops
    asking, and such an email not sent yet (waiting for a retry, say) is not sent. Returns how
    many comments stopped asking."""
    if not comment.email:
        return 0
    # By the address as the emails are grouped (revision_outcomes: trimmed, in lower case).
    theirs = (
        Comment.objects.filter(consultation_id=comment.consultation_id)
        .alias(address=Lower(Trim("email")))
        .filter(address=comment.email.strip().lower())
    )
    stopped = theirs.filter(notify_on_report=True).update(notify_on_report=False)
    report_emails_withdraw(theirs)
    return stopped


def received_check(consultation, received_on, *, now=None) -> None:
    """A letter counts if it arrived during the comment period (by its date, Beijing time)."""
    now = now or timezone.now()
    shanghai = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    day_starts = datetime.datetime.combine(received_on, datetime.time.min, tzinfo=shanghai)
    if day_starts > consultation.closes_at:
        raise ValidationError(
            {"received_on": _("收到日期晚于征求意见截止时间，不能作为本次意见登记。")},
            code="late",
        )
    if received_on > timezone.localtime(now, shanghai).date():
        raise ValidationError({"received_on": _("收到日期不能晚于今天。")}, code="future")
    if received_on < timezone.localtime(consultation.opens_at, shanghai).date():
        earlier = next(
            (
                revision
                for revision in consultation.revisions.published()
                .filter(opens_at__isnull=False)
                .order_by("-number")
                if timezone.localtime(revision.opens_at, shanghai).date()
                <= received_on
                <= timezone.localtime(revision.closes_at, shanghai).date()
            ),
            None,
        )
        if earlier is not None:
            # Letters are recorded on the draft consulted on now: one posted during an earlier
            # draft's period cannot be, and saying "too early" would send staff looking for a
            # wrong date.
            raise ValidationError(
                {
                    "received_on": _(
                        "收到日期在%(draft)s的征求意见期内；现在登记的意见计入正在征求意见的"
                        "文本，%(draft)s已不能再登记意见。"
                    )
                    % {"draft": earlier.label}
                },
                code="earlier_draft",
            )
        raise ValidationError(
            {"received_on": _("收到日期早于征求意见开始日期，不能作为本次意见登记。")},
            code="early",
        )
    if now < consultation.opens_at:
        # Dated the opening day, recorded before its hour: it arrived before the period.
        raise ValidationError(
            {"received_on": _("征求意见期尚未开始，开始前收到的来信不能作为本次意见登记。")},
            code="early",
        )


def report_unpublished_check(consultation, clause) -> None:
    """A letter on a draft whose adoption report is out is refused: the report says it counts
    every comment received, and a published report is final. (Its draft: the clause's, or for
    the whole draft the one consulted on now, as `comment_revision` places such a comment.)"""
    if clause is not None:
        published = (
            Revision.objects.filter(pk=clause.revision_id)
            .values_list("report_published_at", flat=True)
            .first()
        )
    else:
        # Read again: the caller's object may predate a report published since.
        published = (
            Consultation.objects.filter(pk=consultation.pk)
            .values_list("report_published_at", flat=True)
            .first()
        )
    if published is not None:
        raise ValidationError(
            {
                "consultation": _("这一稿的意见采纳情况已于 %(date)s 公布，不能再登记意见。")
                % {"date": timezone.localtime(published).strftime("%Y-%m-%d")}
            },
            code="report_published",
        )


def comment_record_received(
    *,
    consultation,
    clause,
    body: str,
    channel: str,
    received_on,
    recorded_by,
    attachment=None,
    attachment_type: str = "",
    repeat_scope: str = "",
    now=None,
    **submitter,
) -> Submission:
    """A comment that came by letter, email or at a meeting, typed in by staff.

    `submitter` holds what the letter says of its sender (any of `SUBMITTER_FIELDS`). It is
    routed and notified exactly like a web comment. Sending a comment to the bureau is the
    consent to its processing; the time recorded is when staff entered it.

    `repeat_scope` names the page the letter was typed on: the same page posted twice (a
    double click on 保存) stores it once and returns the first (`comment_find_repeat`). Not
    the member of staff: identical letters of a campaign, typed one after another, are each a
    comment.
    """
    _submitter_check(submitter)
    from .models import CommentEvent

    if not consultations_open_to_letters_from(recorded_by).filter(pk=consultation.pk).exists():
        raise ValidationError(
            {"consultation": _("只有发布单位和负责其条款的部门可以登记这次征求意见的来信。")},
            code="not_yours",
        )
    now = now or timezone.now()
    comment_check_clause(consultation=consultation, clause=clause, check=clause_open_check)
    received_check(consultation, received_on, now=now)
    report_unpublished_check(consultation, clause)

    def stored() -> Submission:
        with uploads_removed_on_failure() as uploads, transaction.atomic():
            # A report published since the check above would leave this letter uncounted for
            # good: its draft's publication waits for this transaction, and is checked again.
            draft = clause.revision_id if clause is not None else consultation.current_revision_id
            report_publication_lock(consultation.pk, draft)
            report_unpublished_check(consultation, clause)
            repeat, earlier = _repeat_found(
                repeat_scope,
                consultation,
                clause,
                body,
                {**_submitter_as_stored(submitter), "channel": channel, "received_on": received_on},
                now=now,
                attachment=attachment,
            )
            if repeat is not None:
                return Submission(comment=repeat, created=False)
            comment = comment_store(
                comment=_comment_new(
                    consultation=consultation,
                    clause=clause,
                    body=body,
                    channel=channel,
                    now=now,
                    received_on=received_on,
                    # A letter's writer is answered in the site's language, not in that of the
                    # staff member's admin.
                    language=settings.LANGUAGE_CODE,
                    **submitter,
                )
            )
            _attachment_keep(comment, attachment, attachment_type, uploads)
            # Stored: in the site's language, not in that of the admin of whoever typed it in.
            with translation.override(settings.LANGUAGE_CODE):
                recorded = _("由工作人员录入（%(channel)s，收到日期 %(date)s）。") % {
                    "channel": comment.get_channel_display(),
                    "date": received_on.isoformat(),
                }
            CommentEvent.objects.create(
                comment=comment,
                kind=CommentEvent.Kind.NOTE,
                actor=recorded_by,
                text=recorded,
                at=now,
            )
            submission_remember(repeat_scope, comment.tracking_number, earlier)
        return Submission(comment=comment, created=True)

    return tracking_number_retried(stored)
