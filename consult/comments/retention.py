"""Personal data is kept only as long as the comment form promises (PERSONAL_DATA_RETENTION_DAYS).

After that many days from the publication of the adoption report on the draft it commented
on — or from that draft's close, when no report was published — a comment keeps its text,
routing, decisions and replies, and loses its submitter's name, phone number, email, IP hash,
browser and attachments; the emails that carried them are redacted. Its texts (the comment, the
answer, the reasons) are masked in place first, while the name they are masked by is there.
Each comment gets one history event. Running it again finds nothing more to do.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.consultations.models import Revision
from consult.notifications.models import Notification
from consult.notifications.outbox import notifications_redact

from .exports import exports_expire, exports_holding
from .models import Attachment, Comment, CommentEvent, CooperatingOpinion
from .privacy import comment_text_masked
from .revision_outcomes import revision_comments_q


def retention_apply(*, now=None) -> tuple[int, int]:
    """All that retention removes at `now`, for the daily job and purge_personal_data alike:
    the comments' personal data, and the exports past EXPORT_KEEP_DAYS (copies of it).
    Returns (comments cleared, exports deleted)."""
    now = now or timezone.now()
    # Files of contact details made before, holding some of the comments due: found before
    # the purge clears what they were chosen by.
    due = comments_past_retention(now=now)
    holding = exports_holding(due, made_before=now) if due.exists() else []
    cleared = personal_data_purge(now=now)
    return cleared, exports_expire(now=now, also=holding if cleared else ())


def comments_past_retention(*, now=None):
    """The comments whose personal data is due for removal at `now`: counted per draft, so a
    later draft out for comment does not keep an earlier draft's commenters' data longer."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    drafts: dict[int, list[Revision]] = {}
    for revision in Revision.objects.filter(published_at__isnull=False).select_related(
        "consultation"
    ):
        drafts.setdefault(revision.consultation_id, []).append(revision)
    settled = Q(pk__in=[])
    for revisions in drafts.values():
        if len(revisions) == 1:  # the usual case: the whole consultation at once
            if _settled(revisions[0], cutoff):
                settled |= Q(consultation_id=revisions[0].consultation_id)
            continue
        for revision in revisions:
            if _settled(revision, cutoff):
                settled |= revision_comments_q(revision, revisions)
    return Comment.objects.filter(settled, personal_data_removed_at__isnull=True)


def _settled(revision: Revision, cutoff) -> bool:
    """Its report out before `cutoff` — or, with none, its comment period over by then. The
    current text has its report date on the consultation; its period is `period_of`'s."""
    consultation = revision.consultation
    current = revision.pk == consultation.current_revision_id
    reported = consultation.report_published_at if current else revision.report_published_at
    # An earlier text published without a period of its own has no close to count from.
    has_period = current or revision.has_period
    _opens_at, closes_at = consultation.period_of(revision) if has_period else (None, None)
    if reported is not None:
        return reported <= cutoff
    return closes_at is not None and closes_at <= cutoff


# A comment's texts that may name its submitter: its own, and staff's ("张三来电（138…）要求撤回"
# as the reason it is invalid, withheld from publication, or answered without an opinion).
_STAFF_AND_CITIZEN_TEXTS = [
    "body",
    "reply",
    "decision_reason",
    "invalid_reason",
    "opinions_waived_reason",
    "publication_reason",
]


def _texts_masked(ids) -> None:
    """The personal data written into the texts — the comment's own ("来信人：张三丰，电话…"),
    its reasons and reply, the departments' opinions, the history's notes — masked while the
    names that masking looks for are still known: once they are deleted, nothing would find the
    name in the text, and a cooperating department or an export would read it in full."""
    comments = {
        comment.pk: comment
        for comment in Comment.objects.filter(pk__in=ids).only(
            "pk", "submitter_name", "organisation", *_STAFF_AND_CITIZEN_TEXTS
        )
    }
    for comment in comments.values():
        for field in _STAFF_AND_CITIZEN_TEXTS:
            masked = comment_text_masked(comment, getattr(comment, field))
            # A name of one character masked as two may lengthen a reason already at its limit.
            limit = Comment._meta.get_field(field).max_length
            setattr(comment, field, masked[:limit] if limit else masked)
    Comment.objects.bulk_update(comments.values(), _STAFF_AND_CITIZEN_TEXTS)
    for model in (CooperatingOpinion, CommentEvent):
        rows = list(model.objects.filter(comment_id__in=ids).exclude(text=""))
        for row in rows:
            row.text = comment_text_masked(comments[row.comment_id], row.text)
        model.objects.bulk_update(rows, ["text"])


def personal_data_purge(*, now=None, batch: int = 500) -> int:
    """Remove the personal data of every comment past its retention; returns how many."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                comments_past_retention(now=now)
                .select_for_update(of=("self",), skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return done
            attachments = list(Attachment.objects.filter(comment_id__in=ids))
            Attachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
            _texts_masked(ids)
            Comment.objects.filter(pk__in=ids).update(
                submitter_name="",
                # An individual's employer, a group's own name: the page promises neither is
                # kept past the retention.
                organisation="",
                phone="",
                email="",
                ip_hash="",
                user_agent="",
                notify_on_report=False,
                personal_data_removed_at=now,
            )
            notifications_redact(Notification.objects.filter(comment_id__in=ids))
            CommentEvent.objects.bulk_create(
                CommentEvent(
                    comment_id=pk,
                    kind=CommentEvent.Kind.NOTE,
                    text=_(
                        "个人信息保存期限已满：姓名、单位名称、电话、邮箱和附件已删除，"
                        "文字中的个人信息已遮盖。"
                    ),
                    at=now,
                )
                for pk in ids
            )
            # Files are not part of the transaction: they go once the rows are gone for good.
            for attachment in attachments:
                transaction.on_commit(
                    lambda file=attachment.file: file.delete(save=False), robust=True
                )
        done += len(ids)
