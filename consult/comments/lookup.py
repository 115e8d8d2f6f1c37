"""Finding a comment for its author: tracking number plus something only they know."""

import hmac
import unicodedata

from .models import Comment
from .privacy import phone_last_digits
from .tracking import is_well_formed, normalise_tracking_number


def comment_lookup(tracking_number: str, proof: str) -> Comment | None:
    """The comment if the proof (last four phone digits, or the email) matches; else None.

    A wrong proof and an unknown number give the same answer, so numbers cannot be probed.
    """
    number = normalise_tracking_number(tracking_number)
    # Typed on a Chinese keyboard, "５６７８" or "ｚｈａｎｇ＠example.cn" is the same proof.
    proof = unicodedata.normalize("NFKC", proof or "").strip()
    if not is_well_formed(number) or not proof:
        return None
    comment = (
        Comment.objects.select_related("consultation", "clause")
        .filter(tracking_number=number)
        .first()
    )
    if comment is None:
        return None
    if "@" in proof:
        # Stored as typed before the form made it plain: read both sides alike.
        expected, given = unicodedata.normalize("NFKC", comment.email).lower(), proof.lower()
    else:
        expected, given = phone_last_digits(comment.phone), proof
        if len(given) != 4 or not given.isdigit():
            return None
    if expected and hmac.compare_digest(expected.encode(), given.encode()):
        return comment
    return None
