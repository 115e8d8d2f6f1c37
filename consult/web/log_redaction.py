"""Keep the secrets in links out of the log.

A receipt or status link (/comments/<token>/, …/receipt/, …/notify-on-report/) carries a signed
token that opens the comment to whoever holds it, as a subscription's confirm and unsubscribe
links (/subscriptions/confirm/<token>/) open the subscription; the API's status lookup by GET
carries the proof (the last phone digits or the email) in its query string. Django logs the
path of every 4xx answer (django.request), runserver logs each request line (django.server),
and our own messages may quote a URL: the filter rewrites each record before any handler
writes it.
"""

import logging
import re

REDACTED = "[redacted]"

# A path starting /comments/ (at the start, after a space, a quote, a bracket or a host): the
# segment after it is a token, except the lookup form's own "status". The API's paths start
# /api/comments/ and carry tracking numbers, which open nothing by themselves. A subscription's
# confirm and unsubscribe links carry a token too, which shows the address and, to
# unsubscribe, never expires.
_TOKEN_IN_PATH = re.compile(
    r"""(?P<before>(?:^|[\s"'(\[=]|://[^/\s"']*))"""
    r"""(?P<path>/comments/|/subscriptions/(?:confirm|unsubscribe)/)"""
    r"""(?!status(?:[/?#\s"']|$))(?P<token>[^/?#\s"']+)"""
)
_PROOF_IN_QUERY = re.compile(r"""(?P<name>[?&](?:phone_last4|email|proof)=)[^&#\s"']*""")


# An email address's local part (ASCII: what relays quote back), before its @domain.
_ADDRESS_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]+@(?=[A-Za-z0-9-]+\.)")


def addresses_redacted(text: str) -> str:
    """The text with each email address's local part replaced: a relay's refusal quotes the
    citizen's address, and a log kept for months is out of reach of the retention job, which
    removes it from the database. The domain stays: it says which relay or provider refused.
    For text known to hold addresses, not for whole records: a Message-ID has the same form."""
    return _ADDRESS_LOCAL_PART.sub(f"{REDACTED}@", text)


def redact(text: str) -> str:
    """The text with link tokens and proofs in query strings replaced by [redacted]."""
    text = _TOKEN_IN_PATH.sub(rf"\g<before>\g<path>{REDACTED}", text)
    return _PROOF_IN_QUERY.sub(rf"\g<name>{REDACTED}", text)


class RedactSecretLinks(logging.Filter):
    """A logging filter (on the handlers, so it sees every logger's records) that redacts."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as it would
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
