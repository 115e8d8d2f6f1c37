"""URL configuration for consult."""

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from consult.intake import views as intake_views
from consult.intake.caching import shared_with_anonymous_visitors
from consult.intake.sitemaps import SITEMAPS
from consult.jobs.views import healthz, healthz_jobs

# Swagger UI from the sidecar package, its script served apart so the CSP needs no inline script.
api_docs = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

# Under /api/ an unknown path (a slug no route takes, say) is a JSON 404, as the API documents.
handler400 = "consult.web.errors.bad_request"
handler403 = "consult.web.errors.permission_denied"
handler404 = "consult.web.errors.page_not_found"
handler500 = "consult.web.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/jobs", healthz_jobs, name="healthz_jobs"),
    path("robots.txt", intake_views.robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        shared_with_anonymous_visitors(sitemap),
        {"sitemaps": SITEMAPS, "template_name": "pages/sitemap.xml"},
        name="sitemap",
    ),
    path("i18n/setlang/", intake_views.language_switch, name="language_switch"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include("consult.comments.urls")),
    path("admin/", admin.site.urls),
    path("captcha/", include("captcha.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("", include("consult.intake.urls")),
]
