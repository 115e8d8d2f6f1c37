from django.urls import path

from . import api, downloads, feeds, revision_views, subscriptions_views, views

app_name = "intake"

urlpatterns = [
    path("", views.consultation_list, name="consultation_list"),
    path("consultations/<slug:slug>/", views.consultation_detail, name="consultation"),
    path("consultations/<slug:slug>/report/", views.consultation_report, name="report"),
    path(
        "consultations/<slug:slug>/revisions/<int:number>/",
        revision_views.revision_detail,
        name="revision",
    ),
    path(
        "consultations/<slug:slug>/revisions/<int:number>/report/",
        views.revision_report,
        name="revision_report",
    ),
    path(
        "consultations/<slug:slug>/revisions/<int:number>/changes/",
        revision_views.revision_changes_page,
        name="revision_changes",
    ),
    path("consultations/<slug:slug>/comment/", views.comment_create, name="comment_create"),
    path(
        "consultations/<slug:slug>/clauses/<int:clause_id>/comment/",
        views.comment_create,
        name="clause_comment_create",
    ),
    # The comments published with their submitters' consent (issue 18 item 18).
    path(
        "consultations/<slug:slug>/published-comments/",
        views.published_comments,
        name="published_comments",
    ),
    path(
        "consultations/<slug:slug>/clauses/<int:clause_id>/published-comments/",
        views.published_comments,
        name="clause_published_comments",
    ),
    # The draft as published (16) and the feeds (17).
    path("consultations/<slug:slug>/draft.txt", downloads.draft_source, name="draft_source"),
    path("consultations/<slug:slug>/draft.docx", downloads.draft_word, name="draft_docx"),
    path("consultations/<slug:slug>/draft.pdf", downloads.draft_pdf_file, name="draft_pdf"),
    path("consultations/<slug:slug>/print/", downloads.draft_print, name="draft_print"),
    path("feeds/consultations.atom", feeds.consultations_atom, name="feed_consultations"),
    path("feeds/consultations.rss", feeds.consultations_rss, name="feed_consultations_rss"),
    path("feeds/reports.atom", feeds.reports_atom, name="feed_reports"),
    path("feeds/reports.rss", feeds.reports_rss, name="feed_reports_rss"),
    path("subscriptions/", subscriptions_views.subscribe, name="subscribe"),
    path(
        "subscriptions/confirm/<str:token>/",
        subscriptions_views.subscription_confirm_view,
        name="subscription_confirm",
    ),
    path(
        "subscriptions/unsubscribe/<str:token>/",
        subscriptions_views.unsubscribe,
        name="unsubscribe",
    ),
    path("privacy/", views.site_page, {"template": "pages/privacy.html"}, name="privacy"),
    path(
        "accessibility/",
        views.site_page,
        {"template": "pages/accessibility.html"},
        name="accessibility",
    ),
    path("terms/", views.site_page, {"template": "pages/terms.html"}, name="terms"),
    path("comments/status/", views.comment_status_lookup, name="comment_status_lookup"),
    path("comments/<str:token>/receipt/", views.comment_receipt, name="comment_receipt"),
    path(
        "comments/<str:token>/notify-on-report/",
        views.comment_notify_on_report,
        name="comment_notify_on_report",
    ),
    path(
        "comments/stop-report-emails/<str:token>/",
        views.comment_report_emails_stop,
        name="comment_report_emails_stop",
    ),
    path("comments/<str:token>/", views.comment_status_signed, name="comment_status_signed"),
    # The API, under /api/.
    path("api/consultations/", api.consultation_list, name="api_consultation_list"),
    path("api/consultations/<slug:slug>/", api.consultation_detail, name="api_consultation"),
    path(
        "api/consultations/<slug:slug>/comments/",
        api.comment_create,
        name="api_comment_create",
    ),
    path(
        "api/consultations/<slug:slug>/published-comments/",
        api.published_comments,
        name="api_published_comments",
    ),
    path("api/comments/status/", api.comment_status_lookup, name="api_comment_status_lookup"),
    path(
        "api/comments/<str:tracking_number>/status",
        api.comment_status,
        name="api_comment_status",
    ),
]
