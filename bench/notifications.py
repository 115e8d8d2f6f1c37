"""Benchmarks of the routing and notification path, each beside a baseline from the same run.

    .venv/bin/python bench/notifications.py            # everything, 100,000-comment surge
    .venv/bin/python bench/notifications.py --surge 20000 --skip-surge-wait

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/consult_bench,
created when missing) and redis-server; starts its own Redis, SMTP sink and Celery worker on
free loopback ports. Prints a table and writes var/bench/notifications.json.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database, results_report  # noqa: E402
from consult.testing.services import CeleryProcess, RedisServer, SmtpSink, wait_for  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/consult_bench"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routing-comments", type=int, default=4000)
    parser.add_argument("--noop-tasks", type=int, default=4000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--emails", type=int, default=2000, help="per mode, SMTP part")
    parser.add_argument("--smtp-rounds", type=int, default=5)
    parser.add_argument("--surge", type=int, default=100_000)
    parser.add_argument("--skip-surge", action="store_true")
    parser.add_argument(
        "--sink", choices=["both", "smtp-sink", "aiosmtpd"], default="both", help="SMTP part's sink"
    )
    parser.add_argument(
        "--only", choices=["routing", "request", "smtp", "surge"], help="run one part alone"
    )
    return parser.parse_args()


def main():
    args = parse_args()
    database = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    ensure_database(database)
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)

    with RedisServer(work / "redis") as redis, SmtpSink() as smtp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "EMAIL_"))},
            "DJANGO_SETTINGS_MODULE": "consult.settings",
            "DEBUG": "false",  # as in production: no query log
            "SECRET_KEY": "bench-only",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": redis.url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "LOG_LEVEL": "WARNING",
            "NOTIFY_SWEEP_EVERY_SECONDS": "5",
            "NOTIFY_SWEEP_AFTER_SECONDS": "5",
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
        parts = {
            "routing": lambda: bench_routing(args, env, work, redis),
            "request": lambda: bench_request_cost(args),
            "smtp": lambda: bench_smtp_batching(args, work),
            "surge": lambda: bench_surge(args, env, work, smtp),
        }
        for name, run in parts.items():
            if (args.only or name) != name or (name == "surge" and args.skip_surge):
                continue
            results[name] = run()
    results_report("notifications", results)


def fresh_consultation():
    """An empty database with the Weifang consultation, open now, departments as shipped."""
    from django.db import connection

    from consult.comments.models import Comment
    from consult.consultations.models import Consultation, Department
    from consult.notifications.models import Notification, OutgoingEmail
    from consult.testing.weifang import load_weifang

    # TRUNCATE, not DELETE: a previous part's hundreds of thousands of dead rows (and the
    # autovacuum they set off) would slow the next part down for reasons of its own.
    tables = [
        model._meta.db_table
        for model in (Notification, OutgoingEmail, Comment, Consultation, Department)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return load_weifang(slug="weifang-bench")


def items_of(consultation):
    from consult.consultations.models import Clause

    return list(
        Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
        .distinct()
        .order_by("path")
    )


def worker(env, work, **options):
    return CeleryProcess(env, work / "worker.log", **options)


def queue_drained(redis_client, queue):
    return redis_client.llen(queue) == 0 and redis_client.hlen("unacked") == 0


# 1. Routing throughput against a no-op task, one worker process ---------------------------
def bench_routing(args, env, work, redis):
    import redis as redis_py
    from django.utils import timezone

    from consult.comments.models import Comment, CommentRouting
    from consult.comments.tasks import route_unrouted, route_unrouted_later
    from consult.notifications.tasks import probe

    consultation = fresh_consultation()
    items = items_of(consultation)
    now = timezone.now()
    comments = Comment.objects.bulk_create(
        Comment(
            consultation=consultation,
            clause=items[n % len(items)],
            body=f"来信第{n}封：建议明确集聚区评价指标。",
            channel=Comment.Channel.LETTER,
            consent=True,
            consent_at=now,
            tracking_number=f"B{n:08d}X",
            submitted_at=now,
        )
        for n in range(args.routing_comments)
    )
    ids = [comment.pk for comment in comments]
    client = redis_py.Redis.from_url(redis.url)
    results = {}
    with worker(env, work, concurrency=1) as process:
        started = time.perf_counter()
        for _ in range(args.noop_tasks):
            probe.delay()
        wait_for(lambda: queue_drained(client, "notifications"), timeout=600, interval=0.01)
        noop_seconds = time.perf_counter() - started
        results["noop_tasks_per_second"] = args.noop_tasks / noop_seconds

        def routed():
            return CommentRouting.objects.values("comment").distinct().count()

        half = len(ids) // 2
        started = time.perf_counter()
        route_unrouted_later(ids[:half])
        wait_for(lambda: routed() >= half, timeout=900, interval=0.05)
        batched_seconds = time.perf_counter() - started
        results["routed_comments_per_second_batched"] = half / batched_seconds

        # The same work one comment per task, for comparison.
        single = ids[half : half + min(1000, len(ids) - half)]
        started = time.perf_counter()
        for comment_id in single:
            route_unrouted.delay([comment_id])
        wait_for(lambda: routed() >= half + len(single), timeout=900, interval=0.05)
        results["routed_comments_per_second_one_per_task"] = len(single) / (
            time.perf_counter() - started
        )
        process_log = process.log_tail(5)
    results["ratio_batched_to_noop"] = (
        results["routed_comments_per_second_batched"] / results["noop_tasks_per_second"]
    )
    results["target"] = ">= 0.5"
    results["worker_log_tail"] = process_log
    return results


# 2. What the outbox costs inside a request -------------------------------------------------
def bench_request_cost(args):
    from unittest import mock

    # comment_store builds the notification rows here and writes them in its one statement.
    from consult.comments import services as notification_comments
    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.notifications import outbox

    consultation = fresh_consultation()
    # Everything due at once: the most the hand-off can ever cost a request.
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    items = items_of(consultation)
    handoff, rows, total, without_outbox, broker = [], [], [], [], []

    from consult.notifications.tasks import deliver_notifications

    real_enqueue = outbox.planned_publish
    real_apply_async = deliver_notifications.apply_async

    def timed_apply_async(*args, **kwargs):
        started = time.perf_counter()
        real_apply_async(*args, **kwargs)
        broker.append(time.perf_counter() - started)

    real_rows = notification_comments.comments_notification_values

    def timed_enqueue(planned):
        started = time.perf_counter()
        real_enqueue(planned)
        handoff.append(time.perf_counter() - started)

    def timed_rows(routed):
        started = time.perf_counter()
        built = real_rows(routed)
        rows.append(time.perf_counter() - started)
        return built

    def submit(n):
        return comment_submit(
            consultation=consultation,
            clause=items[n % len(items)],
            body=f"第{n}号意见：建议明确集聚区评价指标和扶持政策。",
            channel="web",
            consent=True,
            phone=f"137{n:08d}",
            email=f"c{n}@example.cn",
        )

    with (
        mock.patch.object(outbox, "planned_publish", timed_enqueue),
        mock.patch.object(notification_comments, "comments_notification_values", timed_rows),
        mock.patch.object(deliver_notifications, "apply_async", timed_apply_async),
    ):
        for n in range(args.requests):
            started = time.perf_counter()
            submit(n)
            total.append(time.perf_counter() - started)
        assert outbox.publisher.flush(30), "the publisher thread did not catch up"
        # The publisher thread hands over what has fallen due since its last turn: one
        # message per comment when they come slowly, fewer when they come fast.
        assert 0 < len(broker) <= args.requests, f"{len(broker)} publishes for {args.requests}"
    # Baseline: the same submissions with the outbox switched off.
    with mock.patch.object(notification_comments, "comments_notification_values", lambda r: []):
        for n in range(args.requests, 2 * args.requests):
            started = time.perf_counter()
            submit(n)
            without_outbox.append(time.perf_counter() - started)

    def ms(values):
        return round(statistics.median(values) * 1000, 3)

    def p95(values):
        return round(sorted(values)[int(len(values) * 0.95)] * 1000, 3)

    return {
        "submissions": args.requests,
        "handoff_median_ms": ms(handoff),
        "handoff_p95_ms": p95(handoff),
        # On the publisher thread, off the request's path (NOTIFY_PUBLISH_IN_BACKGROUND).
        "broker_publish_median_ms": ms(broker),
        "broker_publishes": len(broker),
        # Building them; they are written in the comment's one statement (comment_store).
        "outbox_rows_built_median_ms": ms(rows),
        "submission_median_ms": ms(total),
        "submission_without_outbox_median_ms": ms(without_outbox),
        "target": "handoff median <= 1 ms",
    }


# 3. One SMTP connection for a batch against one per message -------------------------------
def start_sink(kind: str, port: int, counts: Path):
    """An SMTP sink in its own process and a function returning (messages, connections).

    "smtp-sink" is Postfix's C test server, made for benchmarking SMTP clients: it keeps the
    sink from being what is measured. "aiosmtpd" is the Python server the tests use.
    """
    import shutil
    import subprocess

    from consult.testing.services import port_open

    counts.write_text("")
    if kind == "smtp-sink":
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        command = [binary, "-c"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root
        command += [f"127.0.0.1:{port}", "256"]
        process = subprocess.Popen(command, stdout=counts.open("w"), stderr=subprocess.STDOUT)

        def counted():
            # Running counters, "sess=N quit=N mesg=N", rewritten in place with carriage returns.
            last = counts.read_text().replace("\r", "\n").split()[-3:] or ["sess=0", "", "mesg=0"]
            values = dict(item.split("=") for item in last if "=" in item)
            return int(values.get("mesg", 0)), int(values.get("sess", 0))
    else:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), str(counts)]
        )

        def counted():
            lines = counts.read_text().split()
            return lines.count("M"), lines.count("C")

    wait_for(lambda: port_open(port), timeout=20)
    return process, counted


def bench_smtp_batching(args, work):
    import shutil

    from django.conf import settings
    from django.utils import timezone

    from consult.notifications.delivery import emails_build, emails_send
    from consult.notifications.models import Notification, OutgoingEmail
    from consult.notifications.outbox import notification_build
    from consult.testing.services import free_port

    def build(label, count):
        notifications = Notification.objects.bulk_create(
            notification_build(
                kind=Notification.Kind.RECEIPT,
                key=f"bench:{label}:{n}",
                to=[f"r{n}@example.cn"],
                context={"departments": ["市发改委"], "status_url": "http://x/"},
            )
            for n in range(count)
        )
        return emails_build([n.pk for n in notifications], now=timezone.now())

    def arrived(counted, expected):
        return counted()[0] == expected

    def run(email_ids, batch):
        started = time.perf_counter()
        for start in range(0, len(email_ids), batch):
            emails_send(email_ids[start : start + batch])
        return time.perf_counter() - started

    sinks = ["smtp-sink", "aiosmtpd"] if args.sink == "both" else [args.sink]
    if "smtp-sink" in sinks and not (
        shutil.which("smtp-sink") or Path("/usr/sbin/smtp-sink").exists()
    ):
        sinks.remove("smtp-sink")  # apt-get install postfix provides it
    rounds = args.smtp_rounds
    per_round = args.emails // rounds
    results = {"emails_per_mode": per_round * rounds, "rounds": rounds, "target": ">= 3"}
    for kind in sinks:
        fresh_consultation()
        port = free_port()
        sink, counted = start_sink(kind, port, work / f"smtp-counts-{kind}.txt")
        settings.EMAIL_PORT = port
        seconds = {1: 0.0, 100: 0.0}
        connections = {1: 0, 100: 0}
        round_ratios = []
        try:
            run(build("warm-up", 100), 100)
            for number in range(rounds):
                # Alternating rounds, each mode first in turn, so that whatever else the
                # machine does during the run weighs on both modes alike.
                order = (1, 100) if number % 2 == 0 else (100, 1)
                taken = {}
                for batch in order:
                    email_ids = build(f"{batch}-{number}", per_round)
                    messages_before, connections_before = counted()
                    taken[batch] = run(email_ids, batch)
                    sent = OutgoingEmail.objects.filter(pk__in=email_ids, status="sent").count()
                    assert sent == per_round, f"only {sent} of {per_round} sent"
                    wait_for(partial(arrived, counted, messages_before + per_round), timeout=30)
                    seconds[batch] += taken[batch]
                    connections[batch] += counted()[1] - connections_before
                round_ratios.append(taken[1] / taken[100])
        finally:
            sink.terminate()
            sink.wait(10)
        single_rate = per_round * rounds / seconds[1]
        batched_rate = per_round * rounds / seconds[100]
        results[kind] = {
            "one_connection_per_message_per_second": round(single_rate, 1),
            "connections_used_single": connections[1],
            "batches_of_100_per_second": round(batched_rate, 1),
            "connections_used_batched": connections[100],
            "ratio": round(batched_rate / single_rate, 2),
            "ratio_per_round": [round(ratio, 2) for ratio in round_ratios],
        }
    return results


# 4. A surge of comments with default digests ----------------------------------------------
def bench_surge(args, env, work, smtp):
    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.notifications.models import Notification

    consultation = fresh_consultation()
    items = items_of(consultation)
    window = Department.objects.values_list("digest_window_minutes", flat=True).first()
    before = len(smtp.received())
    with worker(env, work, beat=True, concurrency=2):
        started = time.perf_counter()
        for n in range(args.surge):
            comment_submit(
                consultation=consultation,
                clause=items[n % len(items)],
                body=f"第{n}号意见：建议进一步明确集聚区评价指标和扶持政策。",
                channel="api",
                consent=True,
                phone=f"136{n:08d}",
            )
        surge_seconds = time.perf_counter() - started

        def drained():
            return not Notification.objects.exclude(status=Notification.Status.SENT).exists()

        wait_for(drained, timeout=surge_seconds * 3 + window * 60 * 2, interval=1)
        drained_seconds = time.perf_counter() - started
    emails = len(smtp.received()) - before
    return {
        "comments": args.surge,
        "digest_window_minutes": window,
        "surge_seconds": round(surge_seconds, 1),
        "comments_per_second": round(args.surge / surge_seconds, 1),
        "emails": emails,
        "emails_per_comment_percent": round(100 * emails / args.surge, 3),
        "drained_after_seconds": round(drained_seconds, 1),
        "drain_to_surge_ratio": round(drained_seconds / surge_seconds, 2),
        "target": "emails <= 1% of comments; drained within 2x the surge",
    }


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"bench finished in {datetime.timedelta(seconds=round(time.monotonic() - started))}")
