"""Atom and RSS feeds: consultations as they open, and adoption reports as they are published.

Newest first, the latest `FEED_LENGTH` of each; anonymous readers share one cached copy
(intake.caching), so a feed reader polling every minute costs the site nothing.
"""

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consult.consultations.models import Consultation
from consult.notifications.rendering import site_url
from consult.reports.services import report_guid, report_path, reports_published
from consult.text import xml_text

from .caching import shared_with_anonymous_visitors
from .drafts import draft_facts, labelled

FEED_LENGTH = 50


class _XmlSafe:
    """Django's feed writer refuses a control character with an error, and one in one title
    (pasted from a PDF into the admin, say) would take the whole feed down for every reader."""

    def add_item(self, **fields):
        fields = {name: xml_text(v) if isinstance(v, str) else v for name, v in fields.items()}
        return super().add_item(**fields)


class AtomFeed(_XmlSafe, Atom1Feed):
    pass


class RssFeed(_XmlSafe, Rss201rev2Feed):
    pass


def _summary(consultation, revision=None) -> str:
    facts = draft_facts(consultation, revision)
    return "<br>".join(escape(labelled(label, value)) for label, value in facts)


class ConsultationsFeed(Feed):
    """Consultations whose comment period has begun, the most recently opened first."""

    feed_type = AtomFeed
    title = gettext_lazy("公开征求意见")
    subtitle = gettext_lazy("新发布的征求意见稿：标题、发布单位和征求意见时间。")
    description = subtitle
    link = reverse_lazy("intake:consultation_list")

    def items(self):
        return (
            Consultation.objects.filter(opens_at__lte=timezone.now())
            .select_related("issuer")
            .order_by("-opens_at", "-pk")[:FEED_LENGTH]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return _summary(item)

    def item_link(self, item):
        return item.get_absolute_url()

    def item_guid(self, item):
        return entry_id(self.item_link(item))

    # The ids are the paths first listed, kept as they are (an id changed is an entry shown to
    # readers again): not a permalink to RSS readers.
    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.opens_at

    def item_author_name(self, item):
        return item.issuer.full_name or item.issuer.name


def entry_id(path: str) -> str:
    """An entry's id: absolute, as Atom requires (RFC 4287), on the site's public address
    (SITE_URL), the same whichever host name a reader fetched the feed by."""
    return site_url(path)


class ConsultationsRssFeed(ConsultationsFeed):
    feed_type = RssFeed


class ReportsFeed(Feed):
    """Published adoption reports, one per draft, the most recently published first."""

    feed_type = AtomFeed
    title = gettext_lazy("意见采纳情况")
    subtitle = gettext_lazy("已公布的征求意见采纳情况。")
    description = subtitle
    link = reverse_lazy("intake:consultation_list")

    def items(self):
        return reports_published()[:FEED_LENGTH]

    def item_title(self, item):
        if item.revision.number > 1:
            return _("《%(title)s》%(label)s意见采纳情况") % {
                "title": item.consultation.title,
                "label": item.revision.label,
            }
        return _("《%(title)s》意见采纳情况") % {"title": item.consultation.title}

    def item_description(self, item):
        # The period of the draft the report answers, which a later draft does not change.
        return _summary(item.consultation, item.revision)

    def item_link(self, item):
        return report_path(item)

    def item_guid(self, item):
        # The id it was first listed under (its link was then the consultation's report page
        # for a first draft alone): an id changed is an entry shown to readers again.
        return entry_id(
            report_guid(item, later_draft_when_published=item.later_draft_when_published)
        )

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.published_at

    def item_author_name(self, item):
        issuer = item.consultation.issuer
        return issuer.full_name or issuer.name


class ReportsRssFeed(ReportsFeed):
    feed_type = RssFeed


consultations_atom = shared_with_anonymous_visitors(ConsultationsFeed())
consultations_rss = shared_with_anonymous_visitors(ConsultationsRssFeed())
reports_atom = shared_with_anonymous_visitors(ReportsFeed())
reports_rss = shared_with_anonymous_visitors(ReportsRssFeed())
