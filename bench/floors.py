"""What a comment's request and its receipt cost at the least, on this machine, beside consult.

    .venv/bin/python bench/floors.py                  # 3 rounds of 2,000 requests, 500 emails
    .venv/bin/python bench/floors.py --requests 5000 --emails 1000

Issue 17 asks intake at half a bare one-INSERT Django view and, with the worker delivering, at
0.3 of it. This measures, in one process with the production settings (CPU time, no network
client in the way), what the pieces under those targets cost:

- web: a POST through consult's whole middleware stack to a plain Django view that parses the
  JSON and answers 201; the same through DRF's `@api_view`; a plain view that also stores one
  row in a transaction (the bare view's work, inside consult's stack); and consult's own
  `POST /api/consultations/{slug}/comments/`. Rounds alternate the four, so the VM's drift
  falls on each alike.
- email: one receipt-sized email (CJK subject, text and HTML parts) built by Django and sent
  over one open SMTP connection to a sink in its own process: what any worker pays per email
  before rendering a template or touching the database; beside it, consult's worker delivering
  the receipts of as many comments (`deliver`, batches of 50, to the same sink).

Writes var/bench/floors.json. BENCH_FLOORS_DATABASE_URL (default database consult_bench_floors)
names the database it uses, which it drops and creates anew: never point it at one you keep.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ensure_database,
    production_setup,
    python_speed,
    results_report,
)

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/consult_bench_floors"
BODY = "建议第{n}条：加强近岸海域生态修复，明确各区县的牵头单位和完成时限，并公开进展。"


def floor_views():
    """The floor views, and the paths they answer on."""
    from django.db import connection, transaction
    from django.http import JsonResponse
    from django.views.decorators.csrf import csrf_exempt
    from rest_framework.decorators import api_view, parser_classes, permission_classes
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response

    from consult.intake.api import BoundedJSONParser

    @csrf_exempt
    def plain(request):
        json.loads(request.body)
        return JsonResponse({"ok": True}, status=201)

    @api_view(["POST"])
    @permission_classes([AllowAny])
    @parser_classes([BoundedJSONParser])
    def drf(request):
        return Response({"ok": bool(request.data)}, status=201)

    @csrf_exempt
    def one_insert(request):
        data = json.loads(request.body)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor_row (body, phone, email, submitted_at)"
                " VALUES (%s, %s, %s, now())",
                [data["body"], data["phone"], data["email"]],
            )
        return JsonResponse({"ok": True}, status=201)

    return {"plain": plain, "drf": drf, "one_insert": one_insert}


def web(args, consultation, clause_ids) -> dict:
    from django.db import connection
    from django.urls import clear_url_caches, path

    from consult import urls
    from consult.wsgi import application

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_row (id bigserial PRIMARY KEY, body text,"
            " phone varchar(32), email varchar(254), submitted_at timestamptz)"
        )
    views = floor_views()
    urls.urlpatterns[:0] = [path(f"bench-floor/{name}/", view) for name, view in views.items()]
    clear_url_caches()
    paths = {name: f"/bench-floor/{name}/" for name in views}
    paths["consult"] = f"/api/consultations/{consultation.slug}/comments/"
    counter = iter(range(10**9))

    def post(target: str) -> None:
        n = next(counter)
        body = json.dumps(
            {
                "clause": clause_ids[n % len(clause_ids)],
                "body": BODY.format(n=n),
                "name": "张三",
                "phone": f"139{n:08d}",
                "email": f"floor{n}@example.cn",
                "consent": True,
            }
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": target,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        statuses = []
        answer = application(environ, lambda status, headers, *_: statuses.append(status))
        b"".join(answer)
        answer.close()
        if not statuses[0].startswith("201"):
            raise SystemExit(f"{target} answered {statuses[0]}")

    for target in paths.values():  # warm: imports, the directory, prepared statements
        for _ in range(100):
            post(target)
    rounds = {name: [] for name in paths}
    for _round in range(args.rounds):
        for name, target in paths.items():
            started = time.process_time()
            for _ in range(args.requests):
                post(target)
            rounds[name].append(1000 * (time.process_time() - started) / args.requests)
    figures = {
        name: {
            "cpu_ms_per_request": round(statistics.median(ms), 3),
            "rounds": [round(m, 3) for m in ms],
        }
        for name, ms in rounds.items()
    }
    floor = figures["one_insert"]["cpu_ms_per_request"]
    figures["consult_over_one_insert"] = round(figures["consult"]["cpu_ms_per_request"] / floor, 2)
    return figures


def emails(args, consultation, clauses) -> dict:
    from unittest import mock

    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.utils import timezone

    from consult.comments.services import comment_submit
    from consult.notifications import outbox
    from consult.notifications.delivery import deliver
    from consult.notifications.models import Notification
    from consult.testing.services import free_port

    port = free_port()
    with tempfile.NamedTemporaryFile() as counts:
        sink = subprocess.Popen(
            [sys.executable, str(ROOT / "bench/smtp_sink.py"), str(port), counts.name],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            sink.stdout.readline()
            settings_patch = {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": port,
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
            }
            from django.test import override_settings

            with override_settings(**settings_patch):
                text = (
                    f"您对《{consultation.title}》提交的意见已收到，回执编号 ABCD234567。\n"
                ) * 6
                html = "<p>" + text.replace("\n", "<br>") + "</p>"
                connection = get_connection()
                connection.open()
                started = time.process_time()
                for n in range(args.emails):
                    message = EmailMultiAlternatives(
                        subject=f"【意见回执】{consultation.title}",
                        body=text,
                        from_email=f"潍坊市人民政府 <noreply{n}@example.gov.cn>",
                        to=[f"citizen{n}@example.cn"],
                        connection=connection,
                    )
                    message.attach_alternative(html, "text/html")
                    message.send()
                email_floor = 1000 * (time.process_time() - started) / args.emails
                connection.close()

                # The receipts of as many comments, delivered by consult's worker code.
                before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first()
                with mock.patch.object(outbox, "planned_publish", lambda planned: None):
                    for n in range(args.emails):
                        comment_submit(
                            consultation=consultation,
                            clause=clauses[n % len(clauses)],
                            body=BODY.format(n=n),
                            channel="api",
                            consent=True,
                            submitter_name="张三",
                            phone=f"137{n:08d}",
                            email=f"receipt{n}@example.cn",
                        )
                due = list(
                    Notification.objects.filter(
                        pk__gt=before or 0,
                        kind=Notification.Kind.RECEIPT,
                        status=Notification.Status.PENDING,
                        due_at__lte=timezone.now(),
                    ).values_list("pk", flat=True)
                )
                started = time.process_time()
                for start in range(0, len(due), 50):
                    deliver(due[start : start + 50])
                consult_ms = 1000 * (time.process_time() - started) / max(len(due), 1)
        finally:
            sink.terminate()
            sink.wait(10)
    return {
        "email_floor_cpu_ms": round(email_floor, 3),
        "consult_worker_cpu_ms_per_receipt": round(consult_ms, 3),
        "receipts_delivered": len(due),
        "consult_over_floor": round(consult_ms / email_floor, 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--emails", type=int, default=500)
    args = parser.parse_args()
    database = os.environ.get("BENCH_FLOORS_DATABASE_URL", DEFAULT_DATABASE)
    ensure_database(database, fresh=True)
    from consult.testing.services import RedisServer

    with tempfile.TemporaryDirectory() as scratch, RedisServer(Path(scratch) / "cache") as cache:
        os.environ.update(
            {
                "CACHE_URL": cache.url,
                # Every request comes from one address: its limit would stop the run at once.
                "COMMENT_RATE_LIMITS_PER_IP": "1000000/m",
                # Nothing is published: the figures are the request's and the worker's alone.
                "NOTIFY_PUBLISH_IN_BACKGROUND": "false",
                "CELERY_BROKER_URL": "memory://",
            }
        )
        production_setup(database, workers=2)
        from unittest import mock

        from consult.consultations.models import Clause
        from consult.notifications import outbox
        from consult.testing.weifang import load_weifang

        consultation = load_weifang(slug="weifang-floors")
        clauses = list(
            Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
            .distinct()
            .order_by("pk")
        )
        results = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
        results["python_loop_cpu_seconds_at_start"] = python_speed()
        with mock.patch.object(outbox, "planned_publish", lambda planned: None):
            results["web"] = web(args, consultation, [clause.pk for clause in clauses])
        results["email"] = emails(args, consultation, clauses)
        results["python_loop_cpu_seconds_at_end"] = python_speed()
    results_report("floors", results)


if __name__ == "__main__":
    main()
