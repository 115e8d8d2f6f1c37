"""The department-scoped triage queue at 10,000 and at 1,000,000 comments.

    .venv/bin/python bench/admin_queue.py                  # 10,000 then 1,000,000
    .venv/bin/python bench/admin_queue.py --large 200000   # a quicker look

Seeds comments with their routing straight into PostgreSQL with COPY (the bulk path),
in BENCH_ADMIN_DATABASE_URL (default database consult_bench_admin, created when missing).
A member of 市工信局 opens the queue's first page (the default "my open comments") and a
filtered page; each is timed in-process (server time: the view and its templates, median of
7) with its SQL queries counted, first at the small size (the baseline), then at the large.
Writes var/bench/admin_queue.json.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database, results_report  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/consult_bench_admin"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def tracking(n: int) -> str:
    digits = []
    for _ in range(10):
        n, r = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[r])
    return "".join(digits)


def seed(consultation, start: int, count: int, routes_by_clause, rng):
    """COPY `count` comments and their routing rows; returns nothing, fast."""
    from django.db import connection

    clauses = list(routes_by_clause)
    statuses = ["pending"] * 6 + ["in_progress"] * 2 + ["answered"] * 2 + ["invalid"]
    base = consultation.opens_at
    columns = (
        "consultation_id, clause_id, tracking_number, body, body_digest, submitter_name, "
        "submitter_kind, organisation, phone, email, wants_reply, notify_on_report, consent, "
        "consent_at, channel, submitted_at, ip_hash, user_agent, status, decision, "
        "decision_reason, reply, replied_at, invalid_reason, opinions_waived_reason, "
        "publish_consent, publication, publication_reason, published_body, language"
    )
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as copy_cursor:
            with copy_cursor.copy(f"COPY comments_comment ({columns}) FROM STDIN") as copy:
                for n in range(start, start + count):
                    status = rng.choice(statuses)
                    at = base + datetime.timedelta(seconds=rng.randrange(30 * 86400))
                    answered = status == "answered"
                    copy.write_row(
                        (
                            consultation.pk,
                            rng.choice(clauses),
                            tracking(n),
                            f"第{n}条意见：建议明确集聚区的评价指标，并公开评选结果。",
                            f"{n:064x}",
                            "",
                            "individual",
                            "",
                            f"139{n % 100_000_000:08d}",
                            "",
                            False,
                            False,
                            True,
                            at,
                            "web",
                            at,
                            "",
                            "",
                            status,
                            "adopted" if answered else "",
                            "",
                            "已采纳。" if answered else "",
                            at if answered else None,
                            "重复" if status == "invalid" else "",
                            "",
                            False,
                            "private",
                            "",
                            "",
                            "zh-hans",
                        )
                    )
            copy_cursor.execute(
                "SELECT id, clause_id, submitted_at FROM comments_comment"
                " WHERE id > COALESCE((SELECT max(comment_id) FROM comments_commentrouting), 0)"
                " ORDER BY id"
            )
            new = copy_cursor.fetchall()
            with copy_cursor.copy(
                "COPY comments_commentrouting (comment_id, department_id, role, is_owner, "
                "position, created_at) FROM STDIN"
            ) as copy:
                for comment_id, clause_id, at in new:
                    for position, route in enumerate(routes_by_clause[clause_id]):
                        copy.write_row(
                            (comment_id, route.department, route.role.value, route.is_owner,
                             position, at)
                        )  # fmt: skip
        # As autovacuum would have done by the time anyone reads a million comments: hint
        # bits set and the visibility map written, so reads are not also writes.
        cursor.execute("VACUUM (ANALYZE) comments_comment")
        cursor.execute("VACUUM (ANALYZE) comments_commentrouting")


def measure(client, url, runs=7):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "queries": len(queries),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
        "slowest_query": slowest["sql"][:300],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    database = os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_DATABASE)
    ensure_database(database, fresh=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="consult.settings",
        DEBUG="false",
        SECRET_KEY="bench-only",
        DATABASE_URL=database,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # Production settings want collected static files; the pages' links are all we need.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from consult.comments.directory import directory_of
    from consult.consultations.models import Clause, Department
    from consult.consultations.services import staff_join
    from consult.testing.weifang import load_weifang

    call_command("migrate", verbosity=0)
    consultation = load_weifang(slug="weifang-admin-bench")
    items = Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
    routes = directory_of(consultation).routes
    routes_by_clause = {clause.pk: routes[clause.pk] for clause in items.distinct()}
    user = User.objects.create_user("gxj-bench", password="x")
    staff_join(user, Department.objects.get(name="市工信局"))
    client = Client()
    client.force_login(user)
    clause = items.filter(responsibilities__department__name="市工信局").first()
    pages = {
        "first_page": "/admin/comments/comment/",
        "filtered_page": (
            f"/admin/comments/comment/?scope=all&status__exact=pending"
            f"&consultation__id__exact={consultation.pk}&clause={clause.pk}"
        ),
    }
    rng = random.Random(3)
    results = {"machine": os.uname().nodename, "cpus": os.cpu_count()}

    started = time.perf_counter()
    seed(consultation, 0, args.small, routes_by_clause, rng)
    results["seed_small_seconds"] = round(time.perf_counter() - started, 1)
    small = {name: measure(client, url) for name, url in pages.items()}

    started = time.perf_counter()
    remaining = args.large - args.small
    for start in range(args.small, args.large, 200_000):
        seed(consultation, start, min(200_000, args.large - start), routes_by_clause, rng)
    results["seed_large_seconds"] = round(time.perf_counter() - started, 1)
    results["seeded_large_extra"] = remaining
    large = {name: measure(client, url) for name, url in pages.items()}

    for name in pages:
        results[name] = {
            f"at_{args.small}": small[name],
            f"at_{args.large}": large[name],
            "time_ratio": round(large[name]["median_ms"] / small[name]["median_ms"], 2),
            "same_queries": small[name]["queries"] == large[name]["queries"],
        }
    results["target"] = "each page <= 1.5x its time at the small size, same queries, <= 400 ms"
    results_report("admin_queue", results)


if __name__ == "__main__":
    main()
