"""The baseline of bench/intake.py: a bare Django site whose one view stores a comparable row.

It is what a comment would cost with nothing of consult around it: Django's request handling,
JSON parsing and one INSERT of a row shaped like a comment, committed. Run by gunicorn as
`DJANGO_SETTINGS_MODULE=bench.baseline_site gunicorn bench.baseline_site:application`.
"""

import json
import os
import secrets

import environ
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

SECRET_KEY = "baseline-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
# Kept open between requests as consult keeps its own (consult.settings): a new connection per
# request would cost the baseline CPU that consult does not spend, and flatter the ratio.
DATABASES = {
    "default": {
        **environ.Env.db_url_config(os.environ["DATABASE_URL"]),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_baseline_comment (
    id bigserial PRIMARY KEY,
    consultation_id integer NOT NULL,
    clause_id integer,
    tracking_number varchar(10) NOT NULL UNIQUE,
    body text NOT NULL,
    submitter_name varchar(100) NOT NULL,
    phone varchar(32) NOT NULL,
    email varchar(254) NOT NULL,
    consent boolean NOT NULL,
    submitted_at timestamptz NOT NULL
)
"""


@csrf_exempt
def comment_create(request, slug):
    try:
        data = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    tracking_number = secrets.token_hex(5).upper()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_baseline_comment (consultation_id, clause_id, tracking_number,"
            " body, submitter_name, phone, email, consent, submitted_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                1,
                data.get("clause"),
                tracking_number,
                data.get("body", ""),
                data.get("name", ""),
                data.get("phone", ""),
                data.get("email", ""),
                bool(data.get("consent")),
                timezone.now(),
            ],
        )
    return JsonResponse({"tracking_number": tracking_number}, status=201)


urlpatterns = [path("api/consultations/<slug:slug>/comments/", comment_create)]

if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    application = get_wsgi_application()
