"""Signed links that open a comment's status page without asking for the phone or email again."""

from django.core import signing
from django.urls import reverse

from consult.notifications.rendering import site_url

SALT = "consult.comments.status-link"
# A citizen may look at an answer long after the consultation closed.
MAX_AGE = 60 * 60 * 24 * 365


def status_token(comment) -> str:
    return signing.dumps({"t": comment.tracking_number}, salt=SALT, compress=True)


def tracking_number_from_token(token: str) -> str | None:
    """The tracking number a token was made for, or None if it is forged or too old."""
    try:
        return signing.loads(token, salt=SALT, max_age=MAX_AGE)["t"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


def tracking_number_of_expired_token(token: str) -> str | None:
    """The tracking number of a genuine link that is older than `MAX_AGE`, so that its page
    can say it expired and how to look the comment up instead; None for any other token."""
    try:
        signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        try:
            return signing.loads(token, salt=SALT)["t"]
        except (signing.BadSignature, KeyError, TypeError):
            return None
    except (signing.BadSignature, KeyError, TypeError):
        return None
    return None


def comment_status_url(comment) -> str:
    """Absolute URL of the comment's status page, for emails."""
    return comment_status_urls([comment])[comment.pk]


# Stands for the token in the reversed URL; a token is URL-safe, so each is put in its place.
_PLACEHOLDER = "consult-status-placeholder"


def comment_status_urls(comments) -> dict:
    """`comment_status_url` of each comment, by key: one reverse() for a batch of emails."""
    url = site_url(reverse("intake:comment_status_signed", kwargs={"token": _PLACEHOLDER}))
    return {comment.pk: url.replace(_PLACEHOLDER, status_token(comment)) for comment in comments}


# Stopping the report and revision emails: a link in each of them, which must work for as long
# as emails may come (the next draft can be a year away), so it does not expire.
STOP_SALT = "consult.comments.report-emails-stop"


def report_emails_stop_url(comment) -> str:
    token = signing.dumps({"c": comment.pk}, salt=STOP_SALT, compress=True)
    return site_url(reverse("intake:comment_report_emails_stop", kwargs={"token": token}))


def comment_id_from_stop_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=STOP_SALT)["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
