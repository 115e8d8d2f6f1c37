"""The sitemap of the public pages (django.contrib.sitemaps): the list, each consultation, its
published adoption report and published comments, and the site's own pages. Forms, receipts
and status pages are left out: they are a citizen's own, not content to index."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from consult.comments.tallies import consultations_with_published_comments
from consult.consultations.models import Consultation


class ConsultationSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return Consultation.objects.order_by("-opens_at", "pk")

    def lastmod(self, consultation):
        return consultation.updated_at


class ReportSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Consultation.objects.filter(report_published_at__isnull=False).order_by(
            "-report_published_at", "pk"
        )

    def location(self, consultation):
        return reverse("intake:report", kwargs={"slug": consultation.slug})

    def lastmod(self, consultation):
        return consultation.report_published_at


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
            "intake:comment_status_lookup",
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
