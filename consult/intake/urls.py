from django.urls import path

from . import api, views

app_name = "intake"

urlpatterns = [
    path("", views.consultation_list, name="consultation_list"),
    path("consultations/<slug:slug>/", views.consultation_detail, name="consultation"),
    path("consultations/<slug:slug>/report/", views.consultation_report, name="report"),
    path("consultations/<slug:slug>/comment/", views.comment_create, name="comment_create"),
    path(
        "consultations/<slug:slug>/clauses/<int:clause_id>/comment/",
        views.comment_create,
        name="clause_comment_create",
    ),
    path("comments/status/", views.comment_status_lookup, name="comment_status_lookup"),
    path("comments/<str:token>/receipt/", views.comment_receipt, name="comment_receipt"),
    path(
        "comments/<str:token>/notify-on-report/",
        views.comment_notify_on_report,
        name="comment_notify_on_report",
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
    path("api/comments/status/", api.comment_status_lookup, name="api_comment_status_lookup"),
    path(
        "api/comments/<str:tracking_number>/status",
        api.comment_status,
        name="api_comment_status",
    ),
]
