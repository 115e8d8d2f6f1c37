from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("", views.consultation_list, name="consultation_list"),
    path("consultations/<slug:slug>/", views.consultation_detail, name="consultation"),
]
