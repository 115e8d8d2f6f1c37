"""Form-letter campaigns: grouping near-identical comments as they arrive.

Each comment gets a MinHash signature of its character 3-grams (which suits Chinese, where
words are not separated by spaces) and 16 locality-sensitive bands of 4 values. Comments of
the same consultation sharing any band are candidates; a candidate whose estimated Jaccard
similarity reaches CAMPAIGN_SIMILARITY joins the comment's group. Groups are joined
transitively, so a campaign whose letters drift edit by edit still ends up as one.

Signatures and bands live in the database, so grouping is incremental (a task per batch of
new comments) and survives restarts; one consultation's groups are changed under a row lock.
"""

import hashlib
import re
import struct
import unicodedata

import numpy as np
from datasketch import MinHash
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F

from consult.consultations.models import Consultation

from .models import Campaign, Comment, CommentSignature, SignatureBand

NUM_PERM = 64
NEIGHBOURS = 8
REPRESENTATIVES = 8
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 3
# A comment whose own words make fewer 3-grams than this joins a campaign only with the same
# words ("强烈反对取消渔民燃油补贴，请保留！" sent by hundreds): "同意本条。" and "不同意本条。",
# "我表示支持" and "我表示反对" share most of their 3-grams, and are not one letter.
MIN_OWN_SHINGLES = 20
# Punctuation, spaces and the usual mis-decodings of punctuation do not make letters differ.
_NOISE = re.compile(r"[\s\W_袁尧遥曰]+", re.UNICODE)


def normalise(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).lower()


def _shingle_set(text: str) -> set[bytes]:
    text = normalise(text)
    if len(text) <= SHINGLE:
        return {text.encode()} if text else {b""}
    return {text[i : i + SHINGLE].encode() for i in range(len(text) - SHINGLE + 1)}


def shingles(text: str, quoted: str = "") -> list[bytes]:
    """The text's shingles, without those of `quoted` (the clause it comments on): citizens
    paste the clause before opposite opinions, and what they wrote themselves is what makes two
    letters one campaign. A text that is nothing but the quotation keeps its shingles."""
    own = _shingle_set(text)
    if quoted:
        written = own - _shingle_set(quoted)
        if written:
            own = written
    return list(own)


def signatures(texts: list[str], quoted: list[str] | None = None) -> list[np.ndarray]:
    quoted = quoted or [""] * len(texts)
    return signatures_of(
        [shingles(text, clause) for text, clause in zip(texts, quoted, strict=True)]
    )


def signatures_of(shingle_lists: list[list[bytes]]) -> list[np.ndarray]:
    hashes = MinHash.bulk(shingle_lists, num_perm=NUM_PERM)
    return [np.asarray(h.hashvalues, dtype=np.uint64) for h in hashes]


def band_values(signature: np.ndarray) -> list[int]:
    values = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        values.append(struct.unpack(">q", digest)[0])  # signed, to fit a bigint column
    return values


def words_value(own: list[bytes]) -> int:
    """A short comment's own words as one band value: equal for the same words alone."""
    digest = hashlib.blake2b(b"words\0" + b"\0".join(sorted(own)), digest_size=8).digest()
    return struct.unpack(">q", digest)[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / NUM_PERM


class _Groups:
    """Union-find over comment ids."""

    def __init__(self):
        self.parent = {}

    def find(self, item):
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)

    def groups(self):
        result = {}
        for item in self.parent:
            result.setdefault(self.find(item), []).append(item)
        return result.values()


def campaigns_assign(comment_ids) -> int:
    """Sign these comments and group them with their near-duplicates; returns how many joined
    a campaign. Comments already signed are skipped, so running twice is harmless."""
    by_consultation = {}
    for pk, consultation_id in Comment.objects.filter(
        pk__in=comment_ids, signature__isnull=True
    ).values_list("pk", "consultation_id"):
        by_consultation.setdefault(consultation_id, []).append(pk)
    return sum(_assign(consultation_id, ids) for consultation_id, ids in by_consultation.items())


# One periodic run stops after this many, to stay inside the task time limit after a large
# import; the next run goes on where it stopped.
PER_RUN = 20_000


def campaigns_assign_pending(*, batch=1000, limit=PER_RUN) -> int:
    """Group comments not yet signed, oldest first (the periodic job); `limit=None`: all."""
    done = 0
    while limit is None or done < limit:
        ids = list(
            Comment.objects.filter(signature__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        campaigns_assign(ids)
        done += len(ids)
    return done


@transaction.atomic
def _assign(consultation_id, ids) -> int:
    threshold = settings.CAMPAIGN_SIMILARITY
    # One consultation's campaigns change under this lock; other consultations go on.
    # FOR NO KEY UPDATE: a staff change inserting a row that names the consultation (a reply
    # email's notification) takes only a key-share lock on it, which this leaves free; a full
    # lock made the two wait on each other (deadlock) while the job waited for the comment.
    Consultation.objects.select_for_update(no_key=True).filter(pk=consultation_id).first()
    comments = list(
        Comment.objects.filter(pk__in=ids, signature__isnull=True)
        .order_by("pk")
        .values_list("pk", "body", "clause__heading", "clause__text")
    )
    if not comments:
        return 0
    new_ids = [pk for pk, *_texts in comments]
    own = [shingles(body, f"{heading or ''}{text or ''}") for _pk, body, heading, text in comments]
    new_signatures = dict(zip(new_ids, signatures_of(own), strict=True))
    # A long comment is banded by its signature, and matched by similarity; a short one by its
    # words alone, and matched only by the same words.
    bands, same_words = {}, set()
    for pk, words in zip(new_ids, own, strict=True):
        if len(words) >= MIN_OWN_SHINGLES:
            bands[pk] = band_values(new_signatures[pk])
        else:
            bands[pk] = [words_value(words)]
            same_words.add(bands[pk][0])
    owners_of_value = {}
    for pk, values in bands.items():
        for value in values:
            owners_of_value.setdefault(value, []).append(pk)

    pairs, word_for_word = set(), set()
    # Within the batch: each comment against its next neighbours in every shared band, which
    # links a whole campaign arriving at once without comparing every pair of its letters.
    for value, owners in owners_of_value.items():
        found = word_for_word if value in same_words else pairs
        for i, a in enumerate(owners):
            found.update((a, b) for b in owners[i + 1 : i + 1 + NEIGHBOURS])
    # Against earlier comments: only representatives keep their bands (see below), so a
    # campaign of thousands answers with a handful of rows.
    earlier = set()
    values = list(owners_of_value)
    for start in range(0, len(values), 900):
        for value, other in SignatureBand.objects.filter(
            consultation_id=consultation_id, value__in=values[start : start + 900]
        ).values_list("value", "comment_id"):
            if value in same_words:
                word_for_word.update((pk, other) for pk in owners_of_value[value])
                continue
            earlier.add(other)
            pairs.update((pk, other) for pk in owners_of_value[value])

    known = dict(new_signatures)
    for pk, raw in CommentSignature.objects.filter(comment_id__in=earlier).values_list(
        "comment_id", "hashvalues"
    ):
        known[pk] = np.frombuffer(bytes(raw), dtype=np.uint64)
    groups = _Groups()
    for a, b in pairs:
        if similarity(known[a], known[b]) >= threshold:
            groups.union(a, b)
    for a, b in word_for_word:
        groups.union(a, b)

    CommentSignature.objects.bulk_create(
        CommentSignature(comment_id=pk, hashvalues=signature.tobytes())
        for pk, signature in new_signatures.items()
    )
    joined, campaign_of = _join(consultation_id, groups.groups(), set(new_ids))
    representatives = _representatives(campaign_of, new_ids)
    SignatureBand.objects.bulk_create(
        SignatureBand(consultation_id=consultation_id, value=value, comment_id=pk)
        for pk in representatives
        for value in bands[pk]
    )
    return joined


def _representatives(campaign_of: dict, new_ids: list[int]) -> list[int]:
    """The new comments whose bands are kept: every one not in a campaign, and a campaign's
    first REPRESENTATIVES members."""
    kept = [pk for pk in new_ids if pk not in campaign_of]
    by_campaign = {}
    for pk in new_ids:
        if pk in campaign_of:
            by_campaign.setdefault(campaign_of[pk], []).append(pk)
    if by_campaign:
        counts = dict(
            Campaign.objects.filter(pk__in=by_campaign).values_list("pk", "representatives")
        )
        for campaign_id, members in by_campaign.items():
            room = max(0, REPRESENTATIVES - counts.get(campaign_id, 0))
            chosen = members[:room]
            kept += chosen
            if chosen:
                Campaign.objects.filter(pk=campaign_id).update(
                    representatives=F("representatives") + len(chosen)
                )
    return kept


def _join(consultation_id, groups, new_ids) -> tuple[int, dict[int, int]]:
    """Give every group of two or more its campaign; returns how many new comments joined one
    and the campaign of each."""
    member_ids = [pk for group in groups for pk in group]
    current = dict(Comment.objects.filter(pk__in=member_ids).values_list("pk", "campaign_id"))
    touched, joined, campaign_of = set(), 0, {}
    folded_into = {}  # campaigns merged away in this run → the one that absorbed them

    def live(campaign_id):
        while campaign_id in folded_into:
            campaign_id = folded_into[campaign_id]
        return campaign_id

    for group in groups:
        if len(group) < 2:
            continue
        campaigns = sorted({live(current[pk]) for pk in group if current.get(pk)})
        if campaigns:
            keep, merged = campaigns[0], campaigns[1:]
            if merged:
                # The letters of two campaigns turned out to be one: fold the later ones in.
                Comment.objects.filter(campaign_id__in=merged).update(campaign_id=keep)
                Campaign.objects.filter(pk__in=merged).delete()
                touched.difference_update(merged)
                folded_into.update((campaign_id, keep) for campaign_id in merged)
        else:
            keep = Campaign.objects.create(
                consultation_id=consultation_id, first_comment_id=min(group)
            ).pk
        Comment.objects.filter(pk__in=group).exclude(campaign_id=keep).update(campaign_id=keep)
        touched.add(keep)
        joined += len(new_ids.intersection(group))
        campaign_of.update((pk, keep) for pk in group if pk in new_ids)
    for campaign_id, size in (
        Comment.objects.filter(campaign_id__in=touched)
        .values_list("campaign_id")
        .annotate(size=Count("pk"))
    ):
        Campaign.objects.filter(pk=campaign_id).update(size=size)
    return joined, {pk: live(campaign_id) for pk, campaign_id in campaign_of.items()}
