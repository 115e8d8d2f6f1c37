from django.urls import path

from . import views

app_name = "comments"

urlpatterns = [
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("exports/<int:pk>/", views.export_download, name="export_download"),
    path(
        "consultations/<slug:slug>/dashboard/",
        views.consultation_dashboard,
        name="consultation_dashboard",
    ),
]
