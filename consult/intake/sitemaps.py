"""The sitemap of the public pages (django.contrib.sitemaps): the list, each consultation, its
published adoption reports (one per draft) and published comments, and the site's own pages.
Forms, receipts and status pages are left out: they are a citizen's own, not content to
index."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from consult.comments.tallies import consultations_with_published_comments
from consult.consultations.models import Consultation
from consult.reports.services import report_path, reports_published


class ConsultationSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return Consultation.objects.order_by("-opens_at", "pk")

    def lastmod(self, consultation):
        return consultation.updated_at


class ReportSitemap(Sitemap):
    """Each published adoption report, one per draft."""

    changefreq = "monthly"

    def items(self):
        return reports_published()

    def location(self, report):
        return report_path(report)

    def lastmod(self, report):
        return report.published_at


class PublishedCommentsSitemap(Sitemap):
    """Each consultation's list of published comments, once it has one."""

    changefreq = "daily"

    def items(self):
        return Consultation.objects.filter(pk__in=consultations_with_published_comments()).order_by(
            "-opens_at", "pk"
        )

    def location(self, consultation):
        return reverse("intake:published_comments", kwargs={"slug": consultation.slug})


class SitePagesSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return [
            "intake:consultation_list",
            "intake:privacy",
            "intake:accessibility",
            "intake:terms",
        ]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": SitePagesSitemap,
    "consultations": ConsultationSitemap,
    "reports": ReportSitemap,
    "published-comments": PublishedCommentsSitemap,
}
