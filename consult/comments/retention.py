"""Personal data is kept only as long as the comment form promises (PERSONAL_DATA_RETENTION_DAYS).

After that many days from the publication of the consultation's adoption report — or from its
close, when no report was published — a comment keeps its text, routing, decisions and replies,
and loses its submitter's name, phone number, email, IP hash, browser and attachments; the
emails that carried them are redacted. Each comment gets one history event. Running it again
finds nothing more to do.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.consultations.models import Consultation
from consult.notifications.models import Notification
from consult.notifications.outbox import notifications_redact

from .models import Attachment, Comment, CommentEvent


def comments_past_retention(*, now=None):
    """The comments whose personal data is due for removal at `now`."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    settled = Consultation.objects.filter(
        Q(report_published_at__lte=cutoff)
        | Q(report_published_at__isnull=True, closes_at__lte=cutoff)
    )
    return Comment.objects.filter(consultation__in=settled, personal_data_removed_at__isnull=True)


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
            Comment.objects.filter(pk__in=ids).update(
                submitter_name="",
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
                    text=_("个人信息保存期限已满：姓名、电话、邮箱和附件已删除。"),
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
