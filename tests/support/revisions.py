"""The Weifang consultation's second draft (二次征求意见稿), imported as its revision 2."""

import datetime
from pathlib import Path

from django.utils import timezone

from consult.comments.revision_outcomes import revision_publish
from consult.consultations.models import Consultation, Revision
from consult.consultations.revisions import links_confirm
from consult.notices.importer import revision_import
from consult.notices.parser import parse_notice

DRAFT2 = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notices" / "weifang-marine-2024-draft2.txt"
)


def weifang_second_draft(consultation, *, publish=True, open_now=True, by=None) -> Revision:
    """Revision 2 with its proposed links confirmed as they stand; by default open from
    yesterday for 30 days (as load_weifang shifts the first draft) and published."""
    source = DRAFT2.read_text("utf-8")
    revision = revision_import(
        parsed=parse_notice(source), consultation=consultation, source_text=source
    )
    if open_now:
        now = timezone.now().replace(microsecond=0)
        revision.opens_at = now - datetime.timedelta(days=1)
        revision.closes_at = now + datetime.timedelta(days=30)
        revision.save(update_fields=["opens_at", "closes_at"])
    links_confirm(revision.links.all(), by=by)
    if publish:
        revision_publish(revision)
        revision.refresh_from_db()
        consultation.refresh_from_db()
    return revision


def clause(revision, label):
    return revision.clauses.get(label=label)


def first_draft_closed(consultation, *, now=None) -> datetime.datetime:
    """The draft consulted on, its period moved into the past (opened 40 days and closed 10
    days before `now`, whole seconds: a report waits for the close's last second), on its own
    row and on the consultation's; returns the `now` it counted from."""
    now = (now or timezone.now()).replace(microsecond=0)
    period = {
        "opens_at": now - datetime.timedelta(days=40),
        "closes_at": now - datetime.timedelta(days=10),
    }
    Revision.objects.filter(pk=consultation.current_revision_id).update(**period)
    Consultation.objects.filter(pk=consultation.pk).update(**period)
    consultation.refresh_from_db()
    return now
