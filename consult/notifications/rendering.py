"""Turning notifications into an email's subject, text and HTML, from templates per kind.

Templates live at notifications/email/<kind>.subject.txt, <kind>.txt and <kind>.html and always
receive a list of items, so one template serves a single message and a digest alike.
"""

from django.conf import settings
from django.template.loader import render_to_string


def site_url(path: str = "") -> str:
    """An absolute URL on this site, for emails."""
    return settings.SITE_URL + path


# Functions that add to each item what a higher layer knows about it (comments add the comment,
# its admin link, whether contact details may be shown and the author's link to its status
# page); registered by those apps' ready().
_item_enrichers = []


def notification_items_enricher_register(enrich) -> None:
    """`enrich(items)` gets every item (a dict with "notification" and its context) of one
    email before it is rendered, and may add keys the templates use."""
    if enrich not in _item_enrichers:
        _item_enrichers.append(enrich)


def emails_render(
    emails: list[list], counts: list[int] | None = None
) -> list[tuple[str, str, str]]:
    """(subject, text, HTML) of each email, given as the notifications it lists and how many it
    stands for (`counts`; by default the ones listed: a digest may list only its first). The
    enrichers see the items of every email at once, so a batch of emails costs them a query or
    two, not a few per email."""
    items_of = [
        [{**notification.context, "notification": notification} for notification in members]
        for members in emails
    ]
    every_item = [item for items in items_of for item in items]
    for enrich in _item_enrichers:
        enrich(every_item)
    counts = counts or [len(members) for members in emails]
    return [
        _render(members, items, count)
        for members, items, count in zip(emails, items_of, counts, strict=True)
    ]


def _render(notifications, items, count: int) -> tuple[str, str, str]:
    first = notifications[0]
    context = {
        "items": items,
        "count": count,
        "is_digest": count > 1,
        # Counted, not listed: the templates link to where they all are.
        "unlisted": count - len(items),
        "kind": first.kind,
        "department": first.department,
        "consultation": first.consultation or items[0].get("consultation"),
        "site_url": site_url(),
        **first.context,
    }
    base = f"notifications/email/{first.kind}"
    subject = render_to_string(f"{base}.subject.txt", context)
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    return subject.strip(), text, html
