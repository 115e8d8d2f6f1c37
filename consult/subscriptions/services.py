"""Subscribing with double opt-in, unsubscribing in one click, and mailing confirmed
subscribers once when a consultation of their bureau opens.

Every email goes through the notifications outbox, written inside the caller's transaction
and published after commit: nothing is sent from a request. The links are signed
(`django.core.signing`): a confirmation link expires after `CONFIRM_LINK_MAX_AGE`, an
unsubscribe link never does, and both name the subscription and a digest of its address, so a
link outlives neither an unsubscription nor a change of owner of the row's id.
"""

import datetime
import hashlib

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import pgettext

from consult.consultations.models import Consultation, Department
from consult.notifications.models import Notification
from consult.notifications.outbox import (
    notification_build,
    notification_write,
    notifications_redact,
    notifications_write_once,
)
from consult.notifications.rendering import site_url

from .models import Subscription

# The outbox's template names (notifications/email/<kind>.*); not (yet) among
# Notification.Kind's choices, which only label them in the admin.
KIND_CONFIRM = "subscription_confirm"
KIND_OPENED = "consultation_opened"

CONFIRM_LINK_MAX_AGE = datetime.timedelta(days=3)
_CONFIRM_SALT = "consult.subscriptions.confirm"
_UNSUBSCRIBE_SALT = "consult.subscriptions.unsubscribe"


class SubscriptionLinkInvalid(Exception):
    """The link was altered, or its subscription is gone."""


class SubscriptionLinkExpired(SubscriptionLinkInvalid):
    """A confirmation link older than CONFIRM_LINK_MAX_AGE."""


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:16]


def _token(subscription: Subscription, salt: str) -> str:
    return signing.dumps(
        {"s": subscription.pk, "e": _address_digest(subscription.email)}, salt=salt
    )


def _payload(token: str, salt: str, max_age=None) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise SubscriptionLinkExpired from error
    except signing.BadSignature as error:
        raise SubscriptionLinkInvalid from error
    return payload if isinstance(payload, dict) else {}


def _subscription_named(payload: dict) -> Subscription | None:
    subscription = Subscription.objects.filter(pk=payload.get("s")).first()
    if subscription is None or _address_digest(subscription.email) != payload.get("e"):
        return None
    return subscription


def confirm_url(subscription: Subscription) -> str:
    return site_url(
        reverse("intake:subscription_confirm", args=[_token(subscription, _CONFIRM_SALT)])
    )


def unsubscribe_url(subscription: Subscription) -> str:
    token = _token(subscription, _UNSUBSCRIBE_SALT)
    return site_url(reverse("intake:unsubscribe", args=[token]))


def _key_prefix(subscription: Subscription) -> str:
    return f"subscription:{subscription.pk}:"


def address_normalize(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def subscription_request(
    *, email: str, department: Department | None, language: str, now=None
) -> Subscription:
    """Record the wish and mail a confirmation link, in the caller's transaction (the mail
    leaves after commit); an address already confirmed for this bureau is left as it is and
    mailed nothing (the page says the same either way, so the
    form tells nobody who subscribes to what)."""
    now = now or timezone.now()
    email = address_normalize(email)
    try:
        with transaction.atomic():
            subscription, _created = Subscription.objects.get_or_create(
                email=email,
                department=department,
                defaults={"language": language, "created_at": now},
            )
    except IntegrityError:  # a double click raced us to the insert
        subscription = Subscription.objects.get(email=email, department=department)
    if subscription.is_confirmed:
        return subscription
    # Asked again before confirming: the new link's age is what the purge goes by.
    Subscription.objects.filter(pk=subscription.pk).update(created_at=now, language=language)
    notification_write(
        kind=KIND_CONFIRM,
        key=f"{_key_prefix(subscription)}confirm:{now.timestamp():.6f}",
        to=[email],
        context={
            "confirm_url": confirm_url(subscription),
            "department_name": _department_name(department),
            "valid_days": CONFIRM_LINK_MAX_AGE.days,
        },
        language=language,
        now=now,
    )
    return subscription


def subscription_for_confirmation(token: str) -> Subscription:
    """The subscription a confirmation link names; raises SubscriptionLinkExpired after
    CONFIRM_LINK_MAX_AGE, SubscriptionLinkInvalid when altered or unsubscribed since."""
    subscription = _subscription_named(_payload(token, _CONFIRM_SALT, CONFIRM_LINK_MAX_AGE))
    if subscription is None:
        raise SubscriptionLinkInvalid
    return subscription


def subscription_confirm(token: str, *, now=None) -> Subscription:
    """Confirm (idempotent: a second click keeps the first moment)."""
    subscription = subscription_for_confirmation(token)
    Subscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
        confirmed_at=now or timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


def subscription_for_unsubscribe(token: str) -> Subscription | None:
    """The subscription an unsubscribe link names, or None when it is gone already (a second
    click); raises SubscriptionLinkInvalid for an altered link."""
    return _subscription_named(_payload(token, _UNSUBSCRIBE_SALT))


@transaction.atomic
def subscription_cancel(subscription: Subscription) -> None:
    """Unsubscribe: the row goes, mail not yet built for it is dropped, and the address is
    forgotten in every outbox row and email that carried it (an email still waiting to be sent
    is left with no recipient, so it goes nowhere)."""
    mail = Notification.objects.filter(key__startswith=_key_prefix(subscription))
    mail.filter(status=Notification.Status.PENDING, email__isnull=True).delete()
    notifications_redact(mail)
    subscription.delete()


def consultations_opened_notify(*, now=None) -> int:
    """The periodic job: each confirmed subscriber of a consultation's issuer (or of all
    bureaus) is mailed once when it opens; returns how many emails were queued.

    Idempotent: one notification per subscriber and consultation (its unique outbox key), and
    the rows already written are skipped, so running it again, or twice at once, queues
    nothing more. Only consultations open now, and only subscribers confirmed before the
    consultation opened: a new subscriber hears of what opens next, not of everything open.
    """
    now = now or timezone.now()
    queued = 0
    for consultation in Consultation.objects.open_at(now).select_related("issuer"):
        queued += _consultation_opened_write(consultation, now=now)
    return queued


@transaction.atomic
def _consultation_opened_write(consultation: Consultation, *, now) -> int:
    subscribers = Subscription.objects.confirmed().of_issuer(consultation.issuer_id)
    subscribers = list(subscribers.filter(confirmed_at__lte=consultation.opens_at).order_by("pk"))
    keys = {
        subscription.pk: _opened_key(subscription, consultation) for subscription in subscribers
    }
    written = set()
    for start in range(0, len(subscribers), 1000):
        chunk = [keys[subscription.pk] for subscription in subscribers[start : start + 1000]]
        written.update(Notification.objects.filter(key__in=chunk).values_list("key", flat=True))
    notifications = [
        notification_build(
            kind=KIND_OPENED,
            key=keys[subscription.pk],
            to=[subscription.email],
            # No link to the consultation: its coordinators, who see its outbox rows, must
            # not learn who subscribes. What the email says travels in the context.
            context=_opened_context(consultation, subscription),
            language=subscription.language,
            now=now,
        )
        for subscription in subscribers
        if keys[subscription.pk] not in written
    ]
    if not notifications:
        return 0
    return notifications_write_once(notifications)


def _opened_key(subscription: Subscription, consultation: Consultation) -> str:
    return f"{_key_prefix(subscription)}opened:{consultation.pk}"


def _opened_context(consultation: Consultation, subscription: Subscription) -> dict:
    with translation.override(subscription.language):
        # The format the public pages use (intake's `moment` filter, to the second: a period
        # closing at 16:59:59 does not read 16:59), in Beijing time as the email says.
        second = pgettext("date format", "Y年n月j日 H:i:s")
        beijing = timezone.get_default_timezone()
        period = " — ".join(
            dateformat.format(timezone.localtime(moment, beijing), second)
            for moment in (consultation.opens_at, consultation.closes_at)
        )
    return {
        "title": consultation.title,
        "period": period,
        "consultation_url": site_url(consultation.get_absolute_url()),
        "issuer_name": _department_name(consultation.issuer),
        "unsubscribe_url": unsubscribe_url(subscription),
        "subscribed_to": _department_name(subscription.department),
    }


def subscriptions_unconfirmed_purge(*, now=None) -> int:
    """Forget addresses never confirmed once their link has expired (personal data kept no
    longer than it serves); returns how many."""
    now = now or timezone.now()
    stale = Subscription.objects.filter(
        confirmed_at__isnull=True, created_at__lt=now - CONFIRM_LINK_MAX_AGE
    )
    count = 0
    for subscription in stale.iterator():
        subscription_cancel(subscription)
        count += 1
    return count


def _department_name(department: Department | None) -> str:
    if department is None:
        return ""
    return department.full_name or department.name


__all__ = [
    "CONFIRM_LINK_MAX_AGE",
    "SubscriptionLinkExpired",
    "SubscriptionLinkInvalid",
    "consultations_opened_notify",
    "subscription_cancel",
    "subscription_confirm",
    "subscription_request",
    "subscriptions_unconfirmed_purge",
]
