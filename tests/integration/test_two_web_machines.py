"""Two web servers and two workers against one database and one broker, as the README's
production section runs them on several machines: every comment stored once, every citizen
told once, every department's notification written once."""

import collections
import http.client
import json
import threading

import pytest

from consult.comments.models import CommentRouting
from consult.consultations.models import Clause
from consult.notifications.models import Notification, OutgoingEmail
from consult.testing.services import wait_for
from consult.testing.web import GunicornProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

COMMENTS = 1000
CLIENTS = 16


def post_comments(servers, consultation, clauses, numbers, results, errors):
    """One client: a keep-alive connection to each server, used in turn."""
    connections = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=60) for s in servers]
    try:
        for n in numbers:
            connection = connections[n % len(connections)]
            body = json.dumps(
                {
                    "clause": clauses[n % len(clauses)].pk,
                    "body": f"第{n}号意见：建议明确集聚区的评价指标，并公开评选结果。",
                    "name": f"市民{n}",
                    "phone": f"139{n:08d}",
                    "email": f"citizen{n}@example.cn",
                    "consent": True,
                }
            )
            connection.request(
                "POST",
                f"/api/consultations/{consultation.slug}/comments/",
                body=body.encode(),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            payload = response.read()
            if response.status != 201:
                errors.append((n, response.status, payload[:300]))
                continue
            results[n] = json.loads(payload)["tracking_number"]
    except Exception as error:  # the test reports it with the others
        errors.append((None, repr(error), b""))
    finally:
        for connection in connections:
            connection.close()


def test_1000_comments_through_two_servers_and_two_workers_are_each_stored_and_told_once(
    stack, weifang_live, tmp_path
):
    # Every request comes from 127.0.0.1: the per-address limit would stop this test after
    # five, so it is raised here; everything else is the production default. The limits'
    # counters live in the shared Redis (CACHE_URL), as the README's production example sets.
    web_env = {
        **stack.env,
        "CACHE_URL": stack.redis.url,
        "COMMENT_RATE_LIMITS_PER_IP": "100000/m",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    second_worker = stack.new_worker()
    second_worker.start()
    servers = [GunicornProcess(web_env, tmp_path / f"web{n}.log", workers=2) for n in range(2)]
    try:
        for server in servers:
            server.start()
        clauses = list(
            Clause.objects.filter(consultation=weifang_live, responsibilities__isnull=False)
            .distinct()
            .order_by("path")
        )
        results, errors = {}, []
        threads = [
            threading.Thread(
                target=post_comments,
                args=(servers, weifang_live, clauses, range(k, COMMENTS, CLIENTS), results, errors),
            )
            for k in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert errors == [], errors[:5]
        assert len(results) == COMMENTS

        stored = dict(weifang_live.comments.values_list("tracking_number", "email"))
        assert sorted(stored) == sorted(results.values()), "a 201 without a comment, or a double"
        assert len(stored) == COMMENTS

        # Every comment's routes and notifications were written once (the keys are unique);
        # each citizen's receipt, sent by whichever worker took it, arrives exactly once.
        routes = CommentRouting.objects.filter(comment__consultation=weifang_live).count()
        assert Notification.objects.filter(kind="comment_routed").count() == routes
        assert Notification.objects.filter(kind="receipt").count() == COMMENTS

        def receipts_sent():
            return not Notification.objects.filter(kind="receipt").exclude(status="sent").exists()

        wait_for(receipts_sent, timeout=300, interval=0.5, message="every receipt to be sent")
        wait_for(
            lambda: (
                len(stack.smtp.received()) >= OutgoingEmail.objects.filter(status="sent").count()
            ),
            timeout=30,
            message="the sink to hold every sent email",
        )
        received = stack.smtp.received()
        by_id = collections.Counter(message.message_id for message in received)
        assert [mid for mid, count in by_id.items() if count > 1] == []
        receipts_to = collections.Counter(
            address
            for message in received
            for address in message.to
            if address.startswith("citizen")
        )
        assert set(receipts_to) == set(stored.values())
        assert set(receipts_to.values()) == {1}
    finally:
        for server in servers:
            server.stop()
        second_worker.stop()
        for server in servers:
            print(server.log_tail())
