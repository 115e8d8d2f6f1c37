"""Email subscriptions: double opt-in, one email per subscribed address when a consultation opens
(exactly once), one-click unsubscribe, refused links and the rate limit."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from consult.notifications.models import Notification, OutgoingEmail
from consult.subscriptions.models import Subscription
from consult.subscriptions.services import (
    CONFIRM_LINK_MAX_AGE,
    consultations_opened_notify,
    subscriptions_unconfirmed_purge,
)
from tests.factories import ConsultationFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/subscriptions/[a-z]+/[^/\s]+/)")


@pytest.fixture
def bureau():
    """A bureau that has issued a consultation, so it is offered on the form."""
    issuer = DepartmentFactory(name="市发改委", full_name="潍坊市发展和改革委员会")
    now = timezone.now()
    ConsultationFactory(
        issuer=issuer,
        opens_at=now - datetime.timedelta(days=60),
        closes_at=now - datetime.timedelta(days=30),
    )
    return issuer


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """Run the after-commit hand-offs (eager Celery delivers into mail.outbox)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def link_in(message, kind):
    paths = [
        path for path in LINK.findall(message.body) if path.startswith(f"/subscriptions/{kind}/")
    ]
    assert len(paths) == 1, message.body
    return paths[0]


def subscribe(client, mailed, email, department=None):
    data = {"email": email, "department": department.pk if department else ""}
    return mailed(client.post, "/subscriptions/", data)


def confirmed_subscriber(client, mailed, email, department=None):
    response = subscribe(client, mailed, email, department)
    assert response.status_code == 200
    confirm = link_in(mail.outbox[-1], "confirm")
    assert client.post(confirm).status_code == 200
    return Subscription.objects.get(email=email, department=department)


def opening_consultation(issuer, *, in_hours=1):
    now = timezone.now()
    return ConsultationFactory(
        issuer=issuer,
        title="关于促进民营经济发展的若干措施（征求意见稿）",
        opens_at=now + datetime.timedelta(hours=in_hours),
        closes_at=now + datetime.timedelta(days=30),
    )


def test_the_form_offers_the_issuing_bureaus_and_all(client, bureau):
    DepartmentFactory(name="市统计局")  # has issued nothing
    page = client.get(f"/subscriptions/?department={bureau.pk}").content.decode()
    assert f'<option value="{bureau.pk}" selected>' in page
    assert "市统计局" not in page
    assert "所有单位" in page
    # The address must be given, and is marked so as on the comment form; the bureau need not.
    assert '<div class="field required" id="field-email">' in page
    assert '<div class="field" id="field-department">' in page
    assert '标有 <span class="required-mark">*</span> 的为必填项。' in page  # what * means


def test_subscribe_confirm_then_one_email_when_a_consultation_opens_and_only_once(
    client, bureau, mailed
):
    response = subscribe(client, mailed, " Citizen@Example.com ", bureau)
    assert response.status_code == 200
    assert "请查收确认邮件" in response.content.decode()
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["citizen@example.com"]
    subscription = Subscription.objects.get()
    assert subscription.email == "citizen@example.com"
    assert not subscription.is_confirmed

    confirm = link_in(confirmation, "confirm")
    page = client.get(confirm)  # a mail scanner following the link confirms nothing
    assert page.status_code == 200
    assert "确认订阅" in page.content.decode()
    subscription.refresh_from_db()
    assert not subscription.is_confirmed
    assert client.post(confirm).status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_confirmed

    consultation = opening_consultation(bureau)
    mail.outbox.clear()
    assert mailed(consultations_opened_notify) == 0  # not open yet
    with time_machine.travel(datetime.timedelta(hours=2)):
        assert mailed(consultations_opened_notify) == 1
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["citizen@example.com"]
        assert consultation.title in message.subject
        assert f"http://testserver/consultations/{consultation.slug}/" in message.body
        assert "/subscriptions/unsubscribe/" in message.body
        # Mail programs offer the one-click unsubscribe themselves (RFC 8058).
        unsubscribe = message.extra_headers["List-Unsubscribe"]
        assert unsubscribe.startswith("<http://testserver/subscriptions/unsubscribe/")
        assert unsubscribe.strip("<>") in message.body
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # The job runs again, and again: nothing more.
        assert mailed(consultations_opened_notify) == 0
        assert mailed(consultations_opened_notify) == 0
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(key__endswith=f":opened:{consultation.pk}").count() == 1
    # Not filed under the consultation: its coordinators, who see its outbox, see no subscriber.
    assert not Notification.objects.filter(consultation=consultation).exists()


def test_subscribers_of_all_bureaus_hear_of_every_bureau_and_others_of_their_own(
    client, bureau, mailed
):
    other = DepartmentFactory(name="市海渔局", full_name="潍坊市海洋发展和渔业局")
    ConsultationFactory(issuer=other)  # an issuing bureau, offered on the form
    confirmed_subscriber(client, mailed, "all@example.com")
    confirmed_subscriber(client, mailed, "fgw@example.com", bureau)
    confirmed_subscriber(client, mailed, "hyj@example.com", other)
    opening_consultation(bureau)
    mail.outbox.clear()
    with time_machine.travel(datetime.timedelta(hours=2)):
        assert mailed(consultations_opened_notify) == 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "all@example.com",
        "fgw@example.com",
    ]


def test_an_unconfirmed_address_gets_nothing_and_is_forgotten_after_the_link_expires(
    client, bureau, mailed
):
    subscribe(client, mailed, "maybe@example.com", bureau)
    opening_consultation(bureau)
    mail.outbox.clear()
    with time_machine.travel(datetime.timedelta(hours=2)):
        assert mailed(consultations_opened_notify) == 0
    assert mail.outbox == []
    assert subscriptions_unconfirmed_purge() == 0
    later = timezone.now() + CONFIRM_LINK_MAX_AGE + datetime.timedelta(minutes=1)
    assert subscriptions_unconfirmed_purge(now=later) == 1
    assert not Subscription.objects.exists()


def test_a_subscriber_confirmed_after_the_opening_is_not_mailed_about_it(client, bureau, mailed):
    consultation = opening_consultation(bureau, in_hours=-1)  # open already
    confirmed_subscriber(client, mailed, "late@example.com", bureau)
    mail.outbox.clear()
    assert mailed(consultations_opened_notify) == 0
    assert consultation.accepts_comments_at(timezone.now())


def test_the_unsubscribe_link_shows_a_page_and_one_click_post_deletes_the_address(
    client, bureau, mailed
):
    confirmed_subscriber(client, mailed, "leaving@example.com", bureau)
    opening_consultation(bureau)
    mail.outbox.clear()
    with time_machine.travel(datetime.timedelta(hours=2)):
        mailed(consultations_opened_notify)
    unsubscribe = link_in(mail.outbox[0], "unsubscribe")

    page = client.get(unsubscribe)
    assert page.status_code == 200
    assert "leaving@example.com" in page.content.decode()
    assert Subscription.objects.exists()  # a GET changes nothing

    # RFC 8058: the mail provider posts "List-Unsubscribe=One-Click", without our cookies.
    one_click = client.__class__(enforce_csrf_checks=True)
    response = one_click.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "已取消订阅" in response.content.decode()
    assert not Subscription.objects.exists()
    # The address is gone from the outbox too.
    assert all("leaving@example.com" not in n.to for n in Notification.objects.all())
    assert all("leaving@example.com" not in email.to for email in OutgoingEmail.objects.all())
    # A second click is harmless.
    assert one_click.post(unsubscribe).status_code == 200

    opening_consultation(bureau, in_hours=3)
    mail.outbox.clear()
    with time_machine.travel(datetime.timedelta(hours=4)):
        assert mailed(consultations_opened_notify) == 0
    assert mail.outbox == []


def test_a_tampered_link_is_refused_with_a_clear_page(client, bureau, mailed):
    confirmed_subscriber(client, mailed, "someone@example.com", bureau)
    confirm = link_in(mail.outbox[0], "confirm")
    tampered = confirm[:-3] + ("A" if confirm[-3] != "A" else "B") + confirm[-2:]
    for method in (client.get, client.post):
        response = method(tampered)
        assert response.status_code == 400
        assert "链接无效" in response.content.decode()
    response = client.post("/subscriptions/unsubscribe/not-a-token/")
    assert response.status_code == 400
    assert Subscription.objects.exists()


def test_an_expired_confirmation_link_is_refused(client, bureau, mailed):
    subscribe(client, mailed, "slow@example.com", bureau)
    confirm = link_in(mail.outbox[0], "confirm")
    with time_machine.travel(CONFIRM_LINK_MAX_AGE + datetime.timedelta(minutes=1)):
        response = client.post(confirm)
    assert response.status_code == 400
    assert "链接已过期" in response.content.decode()
    assert not Subscription.objects.get().is_confirmed


def test_a_confirmed_address_asking_again_gets_no_second_confirmation(client, bureau, mailed):
    confirmed_subscriber(client, mailed, "twice@example.com", bureau)
    mail.outbox.clear()
    response = subscribe(client, mailed, "twice@example.com", bureau)
    assert response.status_code == 200  # the same page: the form tells nobody who subscribes
    assert mail.outbox == []
    assert Subscription.objects.count() == 1


def test_an_invalid_address_is_refused_with_the_form(client, bureau):
    response = client.post("/subscriptions/", {"email": "not-an-address", "department": ""})
    assert response.status_code == 400
    assert "请填写有效的电子邮箱。" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_subscribe_form_is_rate_limited_per_address(client, bureau, mailed):
    for _ in range(3):
        assert subscribe(client, mailed, "target@example.com", bureau).status_code == 200
    response = subscribe(client, mailed, "target@example.com", bureau)
    assert response.status_code == 429
    assert len(mail.outbox) == 3
    # As the comment form and the lookup say it: how long to wait, and the form with the
    # address still in it.
    assert 0 < int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    assert 'id="rate-limited"' in page and "后再试" in page
    assert 'value="target@example.com"' in page


def test_an_english_subscriber_is_mailed_in_english(client, bureau, mailed):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    confirmed_subscriber(client, mailed, "reader@example.com", bureau)
    assert mail.outbox[0].subject == "Please confirm your subscription to new consultations"
    assert Subscription.objects.get().language == "en"
    consultation = opening_consultation(bureau)
    mail.outbox.clear()
    with time_machine.travel(datetime.timedelta(hours=2)):
        mailed(consultations_opened_notify)
    assert mail.outbox[0].subject == f"New consultation: {consultation.title}"
    assert "Unsubscribe" in mail.outbox[0].body


def test_an_email_s_links_open_in_the_subscriber_s_language(client, bureau, mailed):
    """An English subscription's confirmation and unsubscribe links, opened where the site's
    language was never chosen (a phone's mail app), came up in Chinese as the browser asked,
    where a comment's links open in the language commented in. A choice made here still wins."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client

    from consult.subscriptions.services import unsubscribe_url

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    confirmed_subscriber(client, mailed, "reader@example.com", bureau)
    assert Subscription.objects.get().language == "en"
    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    unsubscribe = urlsplit(unsubscribe_url(Subscription.objects.get())).path
    for url in (link_in(mail.outbox[0], "confirm"), unsubscribe):
        page = elsewhere.get(url)
        assert page.status_code == 200 and page["Content-Language"] == "en", url
    chosen = Client(HTTP_ACCEPT_LANGUAGE="en")
    chosen.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert chosen.get(unsubscribe)["Content-Language"] == "zh-hans"
    done = elsewhere.post(unsubscribe)
    assert done["Content-Language"] == "en" and not Subscription.objects.exists()
