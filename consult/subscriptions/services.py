"""Subscribing with double opt-in, unsubscribing in one click, and mailing confirmed
subscribers once when a consultation of their bureau opens.

Every email goes through the notifications outbox, written inside the caller's transaction
and published after commit: nothing is sent from a request. The links are signed
(`django.core.signing`): a confirmation link expires after `CONFIRM_LINK_MAX_AGE`, an
unsubscribe link never does, and both name the subscription and a digest of its address, so a
link outlives neither an unsubscription nor a change of owner of the row's id. The digest is
keyed with SECRET_KEY: a signed payload is readable, and a plain hash in a forwarded link
would confirm a guessed address.

The address, not the subscription, is the unit: an address subscribed to all bureaus and to
one gets one email per opening, and unsubscribing deletes every subscription of the address.
"""

import datetime
import hashlib
import unicodedata

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import pgettext

from consult.consultations.models import Consultation, Department
from consult.notifications.models import Notification
from consult.notifications.outbox import (
    notification_build,
    notification_write,
    notifications_redact,
    notifications_unsent_withdraw,
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
_ADDRESS_SALT = "consult.subscriptions.address"
_CHUNK = 1000


class SubscriptionLinkInvalid(Exception):
    """The link was altered, or its subscription is gone."""


class SubscriptionLinkExpired(SubscriptionLinkInvalid):
    """A confirmation link older than CONFIRM_LINK_MAX_AGE."""


def _address_digest(email: str, secret: str | None = None) -> str:
    return salted_hmac(_ADDRESS_SALT, email, secret=secret, algorithm="sha256").hexdigest()[:16]


def _address_digests(email: str) -> list[str]:
    """The address's digest under SECRET_KEY, then under each of SECRET_KEY_FALLBACKS: what
    was written before a key rotation still counts while the old key is a fallback."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return list(dict.fromkeys(_address_digest(email, secret) for secret in secrets))


def _address_digest_unkeyed(email: str) -> str:
    """The digest links carried before it was keyed: unsubscribe links in emails already sent
    never expire, so it is still accepted (it reveals nothing the link did not already)."""
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
    if subscription is None:
        return None
    named = str(payload.get("e", ""))
    accepted = [*_address_digests(subscription.email), _address_digest_unkeyed(subscription.email)]
    if not any(constant_time_compare(named, digest) for digest in accepted):
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


def _address_key_prefixes(email: str) -> list[str]:
    """The outbox keys of mail to an address rather than to one of its subscriptions."""
    return [f"subscriber:{digest}:" for digest in _address_digests(email)]


def address_normalize(email: str) -> str:
    """One spelling per mailbox: trimmed, lower case, and full-width characters made plain
    ("x@ｅｘａｍｐｌｅ.org", as a Chinese input method types it, is x@example.org)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


@transaction.atomic
def subscription_request(
    *, email: str, department: Department | None, language: str, now=None
) -> Subscription:
    """Record the wish and mail a confirmation link, in the caller's transaction (the mail
    leaves after commit); an address already confirmed for this bureau, or for all bureaus
    (which covers this one), is left as it is and mailed nothing (the page says the same
    either way, so the form tells nobody who subscribes to what)."""
    now = now or timezone.now()
    email = address_normalize(email)
    if department is not None:
        covering = Subscription.objects.confirmed().filter(email=email, department=None).first()
        if covering is not None:
            return covering
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
    """Unsubscribe the address, as the page says: every subscription of it goes (to one bureau
    or to all), mail not yet sent to it is withdrawn (built or not: one waiting for a retry
    goes nowhere), and the address is forgotten in every outbox row and email that carried
    it. The rows are locked first: the job, writing mail to them at
    the same moment, either finds them gone or has committed mail that is dropped here."""
    rows = list(
        Subscription.objects.select_for_update().filter(email=subscription.email).order_by("pk")
    )
    _subscriptions_forget(rows, address=subscription.email)


def _subscriptions_forget(rows: list[Subscription], *, address: str | None = None) -> None:
    """Delete these subscriptions and their mail; with an address, its mail as well."""
    Subscription.objects.filter(pk__in=[row.pk for row in rows]).delete()
    prefixes = [_key_prefix(row) for row in rows]
    if address is not None:
        prefixes += _address_key_prefixes(address)
    if not prefixes:
        return
    named = Q()
    for prefix in prefixes:
        named |= Q(key__startswith=prefix)
    mail = Notification.objects.filter(named)
    # Not sent yet, built or not (an email waiting for a retry): withdrawn, not left to fail
    # for want of a recipient, an alarm for the operator about what was meant to go nowhere.
    notifications_unsent_withdraw(mail)
    notifications_redact(mail)


def consultations_opened_notify(*, now=None) -> int:
    """The periodic job: each address confirmed for a consultation's issuer or for all
    bureaus (or both) is mailed once when it opens; returns how many emails were queued.

    Idempotent: one notification per address and consultation (its unique outbox key, on the
    address's digest), and the rows already written are skipped, so running it again, or twice
    at once, queues nothing more. Only consultations open now, and only subscriptions confirmed
    before the consultation opened: a new subscriber hears of what opens next, not of
    everything open.
    """
    now = now or timezone.now()
    queued = 0
    consultations = (
        Consultation.objects.open_at(now)
        .select_related("issuer", "current_revision")
        .defer("current_revision__preamble", "current_revision__source_text")
    )
    for consultation in consultations:
        queued += _consultation_opened_write(consultation, now=now)
    return queued


def _opening_round(consultation: Consultation) -> int:
    """Which opening of the consultation this is: 1 for its first draft, N for its N-th draft
    put out for comment (the consultation's period is the draft's now consulted on)."""
    revision = consultation.current_revision
    return revision.number if revision is not None else 1


def _opened_on_the_site(consultation: Consultation):
    """When the opening could first be read on the site: its period's start, or, for a draft
    imported (or published) after that start, the moment it appeared. An address confirmed
    before then has not seen it: a notice imported at noon "opens" at its own date's midnight,
    and a subscriber of the morning was told nothing."""
    revision = consultation.current_revision
    appeared = (
        revision.published_at
        if revision is not None and revision.published_at
        else consultation.created_at
    )
    return max(consultation.opens_at, appeared) if appeared else consultation.opens_at


def _opened_key(prefix: str, consultation: Consultation) -> str:
    """The outbox key of an address's email of this opening: one per draft put out for
    comment, the first draft's as it always was."""
    opening = _opening_round(consultation)
    return f"{prefix}opened:{consultation.pk}" + (f":{opening}" if opening > 1 else "")


@transaction.atomic
def _consultation_opened_write(consultation: Consultation, *, now) -> int:
    subscribed = Subscription.objects.confirmed().of_issuer(consultation.issuer_id)
    subscribed = subscribed.filter(confirmed_at__lte=_opened_on_the_site(consultation))
    subscribed = subscribed.order_by("pk")
    addresses = _by_address(subscribed)
    # Written already: the address's key (under this SECRET_KEY or a fallback), or, from before
    # mail went per address, the key of any of its subscriptions.
    first_opening = _opening_round(consultation) == 1
    keys = {
        address: [
            *(_opened_key(prefix, consultation) for prefix in _address_key_prefixes(address)),
            *(_legacy_opened_key(row, consultation) for row in rows if first_opening),
        ]
        for address, rows in addresses.items()
    }
    every_key = [key for address_keys in keys.values() for key in address_keys]
    written = set()
    for start in range(0, len(every_key), _CHUNK):
        chunk = every_key[start : start + _CHUNK]
        written.update(Notification.objects.filter(key__in=chunk).values_list("key", flat=True))
    due = [address for address in addresses if written.isdisjoint(keys[address])]
    if not due:
        return 0
    # Locked, and read again: an address unsubscribed meanwhile is mailed nothing.
    pks = sorted(row.pk for address in due for row in addresses[address])
    locked: dict[str, list[Subscription]] = {}
    for start in range(0, len(pks), _CHUNK):
        chunk = subscribed.select_for_update().filter(pk__in=pks[start : start + _CHUNK])
        for address, rows in _by_address(chunk).items():
            locked.setdefault(address, []).extend(rows)
    notifications = []
    for address in due:
        if address not in locked:
            continue
        # The widest subscription speaks for the address: "all bureaus" over this bureau.
        subscription = min(locked[address], key=lambda row: (row.department_id is not None, row.pk))
        notifications.append(
            notification_build(
                kind=KIND_OPENED,
                key=keys[address][0],
                to=[address],
                # No link to the consultation: its coordinators, who see its outbox rows, must
                # not learn who subscribes. What the email says travels in the context.
                context=_opened_context(consultation, subscription),
                language=subscription.language,
                now=now,
            )
        )
    return notifications_write_once(notifications)


def _by_address(subscriptions) -> dict[str, list[Subscription]]:
    addresses: dict[str, list[Subscription]] = {}
    for subscription in subscriptions:
        addresses.setdefault(subscription.email, []).append(subscription)
    return addresses


def _legacy_opened_key(subscription: Subscription, consultation: Consultation) -> str:
    """The key mail was written under when it went per subscription."""
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
        # A later draft put out for comment again is named ("第2稿"); the first is not.
        revision = consultation.current_revision
        again = str(revision.label) if _opening_round(consultation) > 1 else ""
    return {
        "title": consultation.title,
        "draft_label": again,
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
    for pk in stale.values_list("pk", flat=True).iterator():
        # Only this row and its confirmation mail: the address may be confirmed for another
        # bureau, and a row confirmed since it was listed is kept.
        with transaction.atomic():
            rows = list(stale.select_for_update().filter(pk=pk))
            _subscriptions_forget(rows)
        count += len(rows)
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
