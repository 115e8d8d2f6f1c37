"""The address is the unit of a subscription: one email per opening however many of its
subscriptions cover the consultation, and unsubscribing deletes every one of them; the links
carry a keyed digest of the address."""

import datetime
import hashlib
import re

import pytest
import time_machine
from django.core import mail, signing
from django.test import override_settings
from django.utils import timezone

from consult.notifications.delivery import deliver
from consult.notifications.models import Notification
from consult.subscriptions import services
from consult.subscriptions.models import Subscription
from consult.subscriptions.services import (
    consultations_opened_notify,
    subscription_cancel,
    subscription_for_unsubscribe,
    subscription_request,
    subscriptions_unconfirmed_purge,
    unsubscribe_url,
)
from tests.factories import ConsultationFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

UNSUBSCRIBE = re.compile(r"http://testserver(/subscriptions/unsubscribe/[^/\s]+/)")


@pytest.fixture
def bureau():
    return DepartmentFactory(name="市发改委", full_name="潍坊市发展和改革委员会")


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """Run the after-commit hand-offs (eager Celery delivers into mail.outbox)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def confirmed(email, department=None, *, language="zh-hans"):
    now = timezone.now()
    return Subscription.objects.create(
        email=email, department=department, language=language, created_at=now, confirmed_at=now
    )


def opening(issuer, *, in_hours=1):
    now = timezone.now()
    return ConsultationFactory(
        issuer=issuer,
        opens_at=now + datetime.timedelta(hours=in_hours),
        closes_at=now + datetime.timedelta(days=30),
    )


def later(hours):
    return time_machine.travel(datetime.timedelta(hours=hours))


def test_an_address_subscribed_to_all_bureaus_and_to_one_gets_one_email_per_opening(bureau, mailed):
    confirmed("citizen@example.com", bureau)
    confirmed("citizen@example.com")
    confirmed("other@example.com", bureau)
    opening(bureau)
    with later(2):
        assert mailed(consultations_opened_notify) == 2
        assert mailed(consultations_opened_notify) == 0
    assert sorted(message.to[0] for message in mail.outbox) == [
        "citizen@example.com",
        "other@example.com",
    ]
    mine = next(message for message in mail.outbox if message.to == ["citizen@example.com"])
    assert "您订阅了所有单位的新征求意见通知" in mine.body  # the widest subscription speaks


def test_the_unsubscribe_link_deletes_every_subscription_of_the_address(client, bureau, mailed):
    other = DepartmentFactory(name="市统计局")
    confirmed("citizen@example.com", bureau)
    confirmed("citizen@example.com")
    confirmed("citizen@example.com", other)
    confirmed("stays@example.com")
    opening(bureau)
    with later(2):
        mailed(consultations_opened_notify)
        message = next(m for m in mail.outbox if m.to == ["citizen@example.com"])
        link = UNSUBSCRIBE.findall(message.body)[0]
        response = client.post(link)
        assert "您的邮箱地址已删除" in response.content.decode()
        assert not Subscription.objects.filter(email="citizen@example.com").exists()
        assert Subscription.objects.filter(email="stays@example.com").exists()
        opening(bureau, in_hours=1)
        opening(other, in_hours=1)
    mail.outbox.clear()
    with later(4):
        assert mailed(consultations_opened_notify) == 2  # stays@, of both openings
    assert {address for message in mail.outbox for address in message.to} == {"stays@example.com"}


def test_an_opening_email_not_yet_sent_when_the_address_unsubscribes_is_never_sent(bureau):
    subscription = confirmed("citizen@example.com", bureau)
    confirmed("citizen@example.com")
    opening(bureau)
    with later(2):
        consultations_opened_notify()  # written, its hand-off not yet run
        pending = list(Notification.objects.values_list("pk", flat=True))
        subscription_cancel(subscription)
        deliver(pending)
    assert mail.outbox == []
    assert all("citizen@example.com" not in n.to for n in Notification.objects.all())


def test_an_opening_email_waiting_for_a_retry_when_the_address_unsubscribes_is_withdrawn(
    bureau, caplog
):
    """Built, and waiting for the relay: unsubscribing left it with nobody to go to, and its
    retry marked it failed, logged "failed for good" at ERROR and counted it among the failures
    the health checks report, for mail that was meant to go nowhere."""
    from unittest import mock

    from consult.notifications import delivery
    from consult.notifications.models import OutgoingEmail
    from tests.comments.test_notifying import RelayDown

    subscription = confirmed("citizen@example.com", bureau)
    opening(bureau)
    with later(2):
        consultations_opened_notify()
        pending = list(Notification.objects.values_list("pk", flat=True))
        with mock.patch.object(delivery, "get_connection", side_effect=lambda **kw: RelayDown()):
            deliver(pending)
        assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.PENDING
        subscription_cancel(subscription)
        assert not OutgoingEmail.objects.exists() and not Notification.objects.exists()
        caplog.clear()
        deliver(pending)
    assert mail.outbox == []
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_mail_written_per_subscription_before_is_not_written_again_per_address(bureau):
    """Mail written when the key was the subscription's still counts for the address."""
    subscription = confirmed("citizen@example.com", bureau)
    confirmed("citizen@example.com")
    consultation = opening(bureau)
    Notification.objects.create(
        kind=services.KIND_OPENED,
        key=f"subscription:{subscription.pk}:opened:{consultation.pk}",
        to=["citizen@example.com"],
        status=Notification.Status.SENT,
        due_at=timezone.now(),
    )
    with later(2):
        assert consultations_opened_notify() == 0


def test_mail_written_before_a_key_rotation_is_not_written_again(bureau, settings):
    """A guard for the keyed outbox key: SECRET_KEY_FALLBACKS keep it recognised."""
    confirmed("citizen@example.com", bureau)
    opening(bureau)
    with later(2):
        assert consultations_opened_notify() == 1
        with override_settings(
            SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
        ):
            assert consultations_opened_notify() == 0


def test_a_confirmed_all_bureaus_subscription_covers_each_bureau(bureau, mailed):
    confirmed("citizen@example.com")
    mailed(subscription_request, email="citizen@example.com", department=bureau, language="zh-hans")
    assert mail.outbox == []
    assert Subscription.objects.count() == 1


def test_the_link_carries_a_keyed_digest_and_links_sent_before_still_work(bureau, settings):
    subscription = confirmed("citizen@example.com", bureau)
    token = unsubscribe_url(subscription).rstrip("/").rsplit("/", 1)[1]
    payload = signing.loads(token, salt="consult.subscriptions.unsubscribe")
    unkeyed = hashlib.sha256(b"citizen@example.com").hexdigest()[:16]
    assert payload["s"] == subscription.pk
    assert payload["e"] != unkeyed  # a guessed address cannot be checked against the link
    assert subscription_for_unsubscribe(token) == subscription
    # Sent before the digest was keyed: unsubscribe links never expire.
    sent_before = signing.dumps(
        {"s": subscription.pk, "e": unkeyed}, salt="consult.subscriptions.unsubscribe"
    )
    assert subscription_for_unsubscribe(sent_before) == subscription
    # After a rotation, while the old key is a fallback.
    with override_settings(SECRET_KEY="a-new-key-" * 5, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert subscription_for_unsubscribe(token) == subscription
    # Another address's digest is refused.
    forged = signing.dumps(
        {"s": subscription.pk, "e": hashlib.sha256(b"x@example.com").hexdigest()[:16]},
        salt="consult.subscriptions.unsubscribe",
    )
    assert subscription_for_unsubscribe(forged) is None


def test_purging_an_unconfirmed_request_keeps_the_addresss_confirmed_subscription(bureau):
    """A guard: the purge forgets the expired request, not the address."""
    confirmed("citizen@example.com", bureau)
    long_ago = timezone.now() - services.CONFIRM_LINK_MAX_AGE - datetime.timedelta(hours=1)
    Subscription.objects.create(email="citizen@example.com", department=None, created_at=long_ago)
    assert subscriptions_unconfirmed_purge() == 1
    assert list(Subscription.objects.values_list("department", flat=True)) == [bureau.pk]


def test_a_second_draft_put_out_for_comment_is_an_opening_of_its_own(weifang_open, mailed):
    """Only an address confirmed after the first draft opened heard of the second (the key was
    the consultation's, written already for the others); now every subscriber hears of it,
    named as the second draft, once."""
    from tests.support.revisions import first_draft_closed, weifang_second_draft

    early = weifang_open.opens_at - datetime.timedelta(days=1)
    Subscription.objects.create(
        email="early@example.com",
        department=weifang_open.issuer,
        language="zh-hans",
        created_at=early,
        confirmed_at=early,
    )
    assert mailed(consultations_opened_notify) == 1
    (first,) = mail.outbox
    assert "现公开征求意见" in first.body
    mail.outbox.clear()

    first_draft_closed(weifang_open)
    assert mailed(consultations_opened_notify) == 0  # closed
    weifang_second_draft(weifang_open)
    assert mailed(consultations_opened_notify) == 1
    assert mailed(consultations_opened_notify) == 0
    (second,) = mail.outbox
    assert second.to == ["early@example.com"]
    assert f"再次公开征求意见：《{weifang_open.title}》（第2稿）" in second.body
    assert second.subject.startswith("再次征求意见")


def test_deleting_a_subscription_in_the_admin_forgets_the_address_as_unsubscribing_does(
    client, bureau, mailed
):
    """A plain delete left the address in the outbox rows and emails: mail waiting for a retry
    still went out, and a failed one could be sent again."""
    from django.contrib.auth import get_user_model

    from consult.notifications.models import OutgoingEmail

    subscription = confirmed("erase-me@example.com", bureau)
    confirmed("erase-me@example.com")
    opening(bureau)
    with later(2):
        assert mailed(consultations_opened_notify) == 1
    root = get_user_model().objects.create_superuser("root", "root@example.cn", "pw")
    client.force_login(root)
    response = client.post(
        f"/admin/subscriptions/subscription/{subscription.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Subscription.objects.exists()
    assert not any("erase-me@example.com" in row.to for row in Notification.objects.all())
    assert not any("erase-me@example.com" in row.to for row in OutgoingEmail.objects.all())


def test_a_subscriber_of_the_morning_hears_of_a_notice_imported_at_noon_dated_days_before(
    bureau, mailed
):
    """A notice opens at its own date's midnight: imported days later, every address
    confirmed between that midnight and the import was never told of it."""
    now = timezone.now()
    before_import = Subscription.objects.create(
        email="morning@example.com",
        department=bureau,
        language="zh-hans",
        created_at=now - datetime.timedelta(days=1),
        confirmed_at=now - datetime.timedelta(days=1),
    )
    consultation = ConsultationFactory(
        issuer=bureau,
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now + datetime.timedelta(days=27),
    )
    with later(1):
        # Confirmed after the notice was on the site: it has seen it, and is not mailed.
        confirmed("afternoon@example.com", bureau)
        assert mailed(consultations_opened_notify) == 1
    assert [m.to for m in mail.outbox] == [[before_import.email]]
    assert consultation.title in mail.outbox[0].subject + mail.outbox[0].body


def test_an_address_typed_in_full_width_is_one_mailbox_with_its_plain_self(bureau):
    """ "x@ｅｘａｍｐｌｅ.org" was stored as typed: the same mailbox subscribed again plainly was a
    second subscription, mailed twice, and unsubscribing through one link left the other."""
    first = subscription_request(email=" X@ｅｘａｍｐｌｅ.org", department=bureau, language="en")
    again = subscription_request(email="x@example.org", department=bureau, language="en")
    assert first.pk == again.pk and first.email == "x@example.org"
