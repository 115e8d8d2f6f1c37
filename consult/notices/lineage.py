"""Clause lineage: which clauses of a later draft continue which clauses of the earlier one.

Pure Python, no Django, like the parser. `propose_links` proposes, for two drafts of one
consultation, links between their passages (clauses) with a kind and a score; a coordinator
confirms or corrects them before the later draft is published.

How it matches:

- Texts are compared without their responsibility parenthesis (the parser keeps departments
  apart), with full-width forms folded and white space dropped, so reworded departments and
  reflowed lines change nothing.
- Every sentence of one draft is aligned with its most similar sentence of the other
  (rapidfuzz's normalised Indel similarity). A clause continues another when most of its text
  comes from it or most of the other's text went into it; an old clause whose text went into
  several new ones was split, several old clauses whose text went into one new one were merged.
  A clause no sentence links (its sentences joined or cut up by the rewording) continues the
  clause of the other draft holding most of its text in runs of a few characters.
- Clauses with items under them (sections, chapters) are matched on the text of their whole
  subtree (their own heading included), at the same depth only, so a section whose items
  moved with it follows its items and a section heading is never matched to an item.
- A clause left over whose whole text is still close to a left-over clause of the other draft
  is linked to it (a clause rewritten sentence by sentence); all others are new or dropped.

Scores run from 0 to 1: 1 for identical text; for a kept, reworded or renumbered clause the
share of the two texts that correspond; for a link of a split or a merge the share of the
smaller side that comes from the other; for a new or dropped clause how little of it is found
on the other side. Links scoring below `CONFIDENT` deserve a coordinator's look first.
"""

import enum
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from .parser import ParsedClause, ParsedNotice

# Below this score a proposed link is a guess worth checking before the draft is published.
CONFIDENT = 0.75

# Sentences are aligned when at least this similar (0..100); short ones must agree more,
# since two short headings share a word or two by chance ("加强组织领导" / "加强督导考核").
_SENTENCE_SIMILAR = 60
_SHORT_SENTENCE_SIMILAR = 75
_SHORT_SENTENCE = 12
# A clause continues another when this share of one of them is found in the other.
_CONTINUES = 0.5
# A leaf no sentence links yet continues the one holding this share of its text in runs of
# at least _RUN characters (sentences joined or cut up by the rewording).
_FOUND_WITHIN = 0.6
_RUN = 3
# Left-over clauses whose whole texts are this similar (0..100) are still one clause.
_REWRITTEN = 50

# Old sentences compared with all new ones this many at a time.
_BLOCK = 256

_SENTENCE_END = re.compile(r"(?<=[。;!?])|\n")
_PUNCTUATION = re.compile(r"[\s。,、;:!?.\"'“”‘’()\[\]《》〈〉【】〔〕]+")


class Kind(enum.StrEnum):
    KEPT = "kept"  # same number (printed), text essentially the same
    REWORDED = "reworded"  # same place, text changed
    RENUMBERED = "renumbered"  # moved to another number, text similar (maybe also reworded)
    SPLIT = "split"  # one old → several new (each link of the split has this kind)
    MERGED = "merged"  # several old → one new (each link of the merge has this kind)
    NEW = "new"  # old is None
    DROPPED = "dropped"  # new is None


@dataclass(frozen=True)
class Passage:
    """One clause of a draft, as lineage sees it."""

    key: str  # the caller's identifier (e.g. a clause's pk or path), unique per draft
    number: str  # its printed number/label, e.g. "二(一)1"
    heading: str
    text: str
    departments: tuple[str, ...] = ()
    parent: str | None = None  # key of the enclosing passage, None at the top


@dataclass(frozen=True)
class Link:
    old: str | None  # key in the old draft; None when the new clause is new
    new: str | None  # key in the new draft; None when the old clause was dropped
    kind: Kind
    score: float  # 0..1, how sure the proposal is (1 for identical text)


@dataclass
class _Node:
    passage: Passage
    index: int
    depth: int
    content: str  # heading and text, folded for comparison
    sentences: list[str]
    children: list[int]
    subtree: list[int]  # itself and its descendants

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def size(self) -> int:
        return sum(len(s) for s in self.sentences)


def propose_links(old: Sequence[Passage], new: Sequence[Passage]) -> list[Link]:
    """Links from the passages of the old draft to those of the new one, each passage in at
    least one link, ordered as the new draft reads (a dropped passage after its predecessor)."""
    olds, news = _nodes(old), _nodes(new)
    own = _sentence_alignment(olds, news)
    affinity: dict[tuple[int, int], float] = defaultdict(float)
    links: dict[tuple[int, int], float] = {}

    leaf_cover = _cover(olds, news, own, subtree=False)
    leaf_links = {
        pair: strength
        for pair, strength in _continuations(leaf_cover).items()
        if olds[pair[0]].is_leaf and news[pair[1]].is_leaf
    }
    for (o, n), (old_share, new_share) in leaf_cover.items():
        affinity[o, n] = max(old_share, new_share)
    leaf_links |= _found_within(olds, news, leaf_links)
    links |= _one_star_each(leaf_links, olds, news)

    container_cover = _cover(olds, news, own, subtree=True)
    container_links = {}
    for o in (node for node in olds if not node.is_leaf):
        for n in (node for node in news if not node.is_leaf and node.depth == o.depth):
            old_share, new_share = container_cover.get((o.index, n.index), (0.0, 0.0))
            heading = _similarity(o.content, n.content) if o.content and n.content else 0.0
            affinity[o.index, n.index] = max(old_share, new_share, heading / 100)
            if max(old_share, new_share) >= _CONTINUES:
                container_links[o.index, n.index] = max(old_share, new_share)
    links |= _one_star_each(container_links, olds, news)

    links |= _rewritten(olds, news, links)
    return _with_kinds(olds, news, links, container_cover, leaf_cover, affinity)


def outcome(old_key: str, links: Iterable[Link]) -> tuple[Kind, tuple[str, ...]]:
    """What became of one old clause: its kind and the keys of the new clauses continuing it."""
    own = [link for link in links if link.old == old_key]
    if not own:
        raise KeyError(f"No link starts at the old passage {old_key!r}.")
    successors = tuple(dict.fromkeys(link.new for link in own if link.new is not None))
    if not successors:
        return Kind.DROPPED, ()
    if len(successors) > 1:
        return Kind.SPLIT, successors
    kinds = {link.kind for link in own if link.new is not None}
    return (kinds.pop() if len(kinds) == 1 else Kind.REWORDED), successors


def passages_from_parsed(parsed: ParsedNotice, *, keys: str = "label") -> list[Passage]:
    """The parsed draft's clauses as passages, in reading order.

    `number` is the label the importer stores (Clause.label: "二(一)1", "第三条"); the key is
    that label (`keys="label"`, a repeated label gets "#2", "#3" …) or the importer's
    Clause.path ("0002.0001.0001", `keys="path"`).
    """
    if keys not in ("label", "path"):
        raise ValueError(f"keys must be 'label' or 'path', not {keys!r}")
    passages: list[Passage] = []
    seen: dict[str, int] = defaultdict(int)

    def add(clause: ParsedClause, parent: Passage | None, path: str) -> None:
        label = clause.number
        # As the importer labels clauses: an article is known by its own number alone.
        if parent is not None and clause.level != "article":
            label = parent.number + clause.number
        seen[label] += 1
        unique_label = label if seen[label] == 1 else f"{label}#{seen[label]}"
        key = path if keys == "path" else unique_label
        passage = Passage(
            key=key,
            number=label,
            heading=clause.heading,
            text=clause.text,
            departments=(*clause.lead, *clause.cooperating),
            parent=parent.key if parent else None,
        )
        passages.append(passage)
        for position, child in enumerate(clause.children, start=1):
            add(child, passage, f"{path}.{position:04d}")

    for position, clause in enumerate(parsed.clauses, start=1):
        add(clause, None, f"{position:04d}")
    return passages


def fold(text: str) -> str:
    """Text as lineage compares it: full-width forms folded, white space dropped."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _content(passage: Passage) -> str:
    heading, text = fold(passage.heading), fold(passage.text)
    # The parser repeats an item's short heading as the first sentence of its text.
    if not heading or text.startswith(heading):
        return text
    return f"{heading}。{text}" if text else heading


def _sentences(content: str) -> list[str]:
    pieces = (_PUNCTUATION.sub("", piece) for piece in _SENTENCE_END.split(content))
    return [piece for piece in pieces if piece]


def _nodes(passages: Sequence[Passage]) -> list[_Node]:
    index = {p.key: i for i, p in enumerate(passages)}
    if len(index) != len(passages):
        raise ValueError("Passage keys must be unique within a draft.")
    nodes = []
    for i, passage in enumerate(passages):
        content = _content(passage)
        nodes.append(_Node(passage, i, 0, content, _sentences(content), [], [i]))
    for node in nodes:
        parent = node.passage.parent
        if parent is not None and parent in index:
            nodes[index[parent]].children.append(node.index)
    for node in nodes:
        depth, parent, seen = 0, node.passage.parent, {node.passage.key}
        while parent is not None and parent in index and parent not in seen:
            seen.add(parent)
            depth += 1
            nodes[index[parent]].subtree.append(node.index)
            parent = passages[index[parent]].parent
        node.depth = depth
    return nodes


@dataclass
class _Alignment:
    """For each sentence of one draft, the passage holding its best match in the other and how
    similar they are (0..1), or None when nothing is similar enough."""

    old_owner: list[int]  # old sentence → its passage
    new_owner: list[int]
    old_lengths: list[int]
    new_lengths: list[int]
    old_match: list[tuple[int, float] | None]  # old sentence → (new passage, similarity)
    new_match: list[tuple[int, float] | None]


def _sentence_alignment(olds: list[_Node], news: list[_Node]) -> _Alignment:
    old_sentences = [(n.index, s) for n in olds for s in n.sentences]
    new_sentences = [(n.index, s) for n in news for s in n.sentences]
    alignment = _Alignment(
        old_owner=[owner for owner, _ in old_sentences],
        new_owner=[owner for owner, _ in new_sentences],
        old_lengths=[len(s) for _, s in old_sentences],
        new_lengths=[len(s) for _, s in new_sentences],
        old_match=[None] * len(old_sentences),
        new_match=[None] * len(new_sentences),
    )
    if not old_sentences or not new_sentences:
        return alignment
    # Among equally good matches, prefer the passage with the same number, then the nearest
    # place: identical drafts and repeated sentences must align with themselves.
    codes: dict[str, int] = {}
    old_numbers = np.array(
        [codes.setdefault(olds[o].passage.number, len(codes)) for o, _ in old_sentences]
    )
    new_numbers = np.array(
        [codes.setdefault(news[n].passage.number, len(codes)) for n, _ in new_sentences]
    )
    old_places = np.array([o / len(olds) for o, _ in old_sentences])
    new_places = np.array([n / len(news) for n, _ in new_sentences])
    new_lengths = np.array(alignment.new_lengths)
    new_texts = [s for _, s in new_sentences]
    best_for_new = np.full(len(new_sentences), -1.0)
    best_old_row = np.zeros(len(new_sentences), dtype=int)
    best_new_score = np.zeros(len(new_sentences))
    # Row blocks keep memory flat however long the drafts are.
    for top in range(0, len(old_sentences), _BLOCK):
        rows = slice(top, top + _BLOCK)
        scores = process.cdist(
            [s for _, s in old_sentences[rows]], new_texts, scorer=fuzz.ratio, dtype=np.float32
        )
        ranked = scores + 1e-3 * (old_numbers[rows, None] == new_numbers[None, :])
        ranked += 1e-4 * (1 - np.abs(old_places[rows, None] - new_places[None, :]))
        short = (
            np.minimum(np.array(alignment.old_lengths[rows])[:, None], new_lengths)
            < _SHORT_SENTENCE
        )
        similar = scores >= np.where(short, _SHORT_SENTENCE_SIMILAR, _SENTENCE_SIMILAR)
        ranked = np.where(similar, ranked, -1)
        for offset, j in enumerate(ranked.argmax(axis=1)):
            if ranked[offset, j] >= 0:
                similarity = float(scores[offset, j]) / 100
                alignment.old_match[top + offset] = (new_sentences[j][0], similarity)
        column_best = ranked.argmax(axis=0)
        column_value = ranked[column_best, np.arange(len(new_sentences))]
        better = column_value > best_for_new
        best_for_new[better] = column_value[better]
        best_old_row[better] = column_best[better] + top
        best_new_score[better] = scores[column_best, np.arange(len(new_sentences))][better]
    for j in np.flatnonzero(best_for_new >= 0):
        owner = old_sentences[best_old_row[j]][0]
        alignment.new_match[j] = (owner, float(best_new_score[j]) / 100)
    return alignment


def _cover(
    olds: list[_Node], news: list[_Node], alignment: _Alignment, *, subtree: bool
) -> dict[tuple[int, int], tuple[float, float]]:
    """(old share, new share) per pair of passages: how much of the old passage's text went
    into the new one, and how much of the new one's text comes from the old one, weighted by
    how similar the aligned sentences are. With `subtree`, of the passages with everything
    under them."""
    old_to_new: dict[tuple[int, int], float] = defaultdict(float)
    new_from_old: dict[tuple[int, int], float] = defaultdict(float)
    for owner, length, match in zip(
        alignment.old_owner, alignment.old_lengths, alignment.old_match, strict=True
    ):
        if match is not None:
            old_to_new[owner, match[0]] += length * match[1]
    for owner, length, match in zip(
        alignment.new_owner, alignment.new_lengths, alignment.new_match, strict=True
    ):
        if match is not None:
            new_from_old[match[0], owner] += length * match[1]
    if subtree:
        old_to_new = _lift(old_to_new, olds, news)
        new_from_old = _lift(new_from_old, olds, news)
        old_sizes = [sum(olds[i].size for i in node.subtree) for node in olds]
        new_sizes = [sum(news[i].size for i in node.subtree) for node in news]
    else:
        old_sizes = [node.size for node in olds]
        new_sizes = [node.size for node in news]
    return {
        (o, n): (
            old_to_new.get((o, n), 0.0) / old_sizes[o] if old_sizes[o] else 0.0,
            new_from_old.get((o, n), 0.0) / new_sizes[n] if new_sizes[n] else 0.0,
        )
        for o, n in old_to_new.keys() | new_from_old.keys()
    }


def _lift(weights, olds: list[_Node], news: list[_Node]) -> dict[tuple[int, int], float]:
    """Weights between passages summed up to every pair of their containers (and themselves)."""
    old_ancestors = _ancestors(olds)
    new_ancestors = _ancestors(news)
    lifted: dict[tuple[int, int], float] = defaultdict(float)
    for (o, n), weight in weights.items():
        for old_container in old_ancestors[o]:
            for new_container in new_ancestors[n]:
                lifted[old_container, new_container] += weight
    return lifted


def _ancestors(nodes: list[_Node]) -> list[list[int]]:
    result: list[list[int]] = [[] for _ in nodes]
    for node in nodes:
        for member in node.subtree:
            result[member].append(node.index)
    return result


def _continuations(cover) -> dict[tuple[int, int], float]:
    """Pairs where most of one passage is found in the other, with that share."""
    return {
        pair: max(old_share, new_share)
        for pair, (old_share, new_share) in cover.items()
        if max(old_share, new_share) >= _CONTINUES
    }


def _one_star_each(candidates: dict[tuple[int, int], float], olds, news):
    """The candidate links without the weakest ones that would make a passage both split and
    merged (of equal ones, those between different numbers, then places, go first): what is
    left is one-to-one links, splits and merges."""
    links = dict(candidates)

    def weakness(pair):
        o, n = pair
        same_number = olds[o].passage.number == news[n].passage.number
        return (links[pair], same_number, -abs(o / len(olds) - n / len(news)), pair)

    while True:
        old_degree: dict[int, int] = defaultdict(int)
        new_degree: dict[int, int] = defaultdict(int)
        for o, n in links:
            old_degree[o] += 1
            new_degree[n] += 1
        tangled = [pair for pair in links if old_degree[pair[0]] > 1 and new_degree[pair[1]] > 1]
        if not tangled:
            return links
        del links[min(tangled, key=weakness)]


def _found_within(olds, news, links) -> dict[tuple[int, int], float]:
    """Links for leaves no sentence links yet, to the leaf of the other draft in which most of
    their text is found as runs of a few characters, wherever the sentences now end."""
    linked_old = {o for o, _ in links}
    linked_new = {n for _, n in links}
    old_leaves = [node for node in olds if node.is_leaf and node.size]
    new_leaves = [node for node in news if node.is_leaf and node.size]
    found = {}
    for o in old_leaves:
        if o.index not in linked_old:
            share, n = max(((_share_found(o, n), n.index) for n in new_leaves), default=(0, 0))
            if share >= _FOUND_WITHIN:
                found[o.index, n] = share
    for n in new_leaves:
        if n.index not in linked_new:
            share, o = max(((_share_found(n, o), o.index) for o in old_leaves), default=(0, 0))
            if share >= _FOUND_WITHIN:
                found[o, n.index] = max(share, found.get((o, n.index), 0))
    return found


def _share_found(part: _Node, whole: _Node) -> float:
    """How much of `part`'s text appears in `whole` in runs of at least _RUN characters."""
    a, b = "".join(part.sentences), "".join(whole.sentences)
    runs = (op.src_end - op.src_start for op in LCSseq.opcodes(a, b) if op.tag == "equal")
    return sum(run for run in runs if run >= _RUN) / len(a)


def _rewritten(olds, news, links) -> dict[tuple[int, int], float]:
    """One-to-one links between passages left over on both sides whose whole texts are still
    close (sentence by sentence rewritten), or that are the same empty passage."""
    linked_old = {o for o, _ in links}
    linked_new = {n for _, n in links}
    candidates = []
    for o in olds:
        if o.index in linked_old:
            continue
        for n in news:
            if n.index in linked_new or o.is_leaf != n.is_leaf:
                continue
            if not o.is_leaf and o.depth != n.depth:
                continue
            if o.content and n.content:
                similarity = _similarity(o.content, n.content)
            elif o.content == n.content and o.passage.number == n.passage.number:
                similarity = 100.0
            else:
                continue
            if similarity >= _REWRITTEN:
                place = abs(o.index / len(olds) - n.index / len(news))
                same_number = o.passage.number == n.passage.number
                candidates.append((-similarity, not same_number, place, o.index, n.index))
    found = {}
    for negative_similarity, _, _, o, n in sorted(candidates):
        if o not in linked_old and n not in linked_new:
            linked_old.add(o)
            linked_new.add(n)
            found[o, n] = -negative_similarity / 100
    return found


def _similarity(a: str, b: str) -> float:
    return fuzz.ratio(a, b)


def _with_kinds(olds, news, links, container_cover, leaf_cover, affinity) -> list[Link]:
    successors: dict[int, list[int]] = defaultdict(list)
    predecessors: dict[int, list[int]] = defaultdict(list)
    for o, n in links:
        successors[o].append(n)
        predecessors[n].append(o)
    found: list[tuple[tuple, Link]] = []
    for o, n in links:
        old, new = olds[o], news[n]
        cover = container_cover if not old.is_leaf else leaf_cover
        old_share, new_share = cover.get((o, n), (0.0, 0.0))
        if len(successors[o]) > 1:
            # How much of this piece of the split comes from the old clause.
            found_in = _share_found(new, old) if old.is_leaf and new.size else 0.0
            kind, score = Kind.SPLIT, max(new_share, found_in)
        elif len(predecessors[n]) > 1:
            # How much of this part of the merge went into the new clause.
            found_in = _share_found(old, new) if old.is_leaf and old.size else 0.0
            kind, score = Kind.MERGED, max(old_share, found_in)
        else:
            if old.content and new.content:
                own = _similarity(old.content, new.content) / 100
            else:
                own = 1.0 if old.content == new.content else 0.0
            score = max(own, (old_share + new_share) / 2)
            if old.passage.number != new.passage.number:
                kind = Kind.RENUMBERED
            elif old.content == new.content:
                kind = Kind.KEPT
            else:
                kind = Kind.REWORDED
        found.append(((n, o), Link(old.passage.key, new.passage.key, kind, _unit(score))))
    for new in news:
        if new.index not in predecessors:
            evidence = max((affinity.get((o.index, new.index), 0.0) for o in olds), default=0.0)
            link = Link(None, new.passage.key, Kind.NEW, _unit(1 - evidence))
            found.append(((new.index, -1), link))
    for old in olds:
        if old.index not in successors:
            evidence = max((affinity.get((old.index, n.index), 0.0) for n in news), default=0.0)
            place = max((n for o, n in links if o < old.index), default=-1) + 0.5
            link = Link(old.passage.key, None, Kind.DROPPED, _unit(1 - evidence))
            found.append(((place, old.index), link))
    return [link for _, link in sorted(found, key=lambda item: item[0])]


def _unit(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)
