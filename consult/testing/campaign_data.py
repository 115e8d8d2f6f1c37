"""A labelled set of form letters and distinct comments, made from the shared policy corpus.

Campaign letters copy one template with the light edits people make: their own name and
village, a sentence added or left out, characters changed, punctuation mangled. Distinct
comments are put together from other sentences of the corpus. Each text carries its true
label (a campaign number, or None), so the grouping's precision and recall can be measured.
"""

import random
import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"  # a copy of ../shared/corpus
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
PLACES = ["寒亭区", "坊子区", "奎文区", "潍城区", "寿光市", "昌邑市", "滨海区", "高密市"]
OPENERS = ["我是{place}的居民{name}，", "本人{name}，来自{place}。", "{place}群众{name}：", ""]
CLOSERS = ["以上建议，请予采纳。", "恳请有关部门认真研究。", "希望早日落实。", ""]


def corpus_sentences() -> list[str]:
    sentences = []
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text("utf-8", errors="replace")
        for sentence in re.split(r"(?<=[。！？遥])", re.sub(r"\s+", "", text)):
            if 25 <= len(sentence) <= 160 and "\ufffd" not in sentence:
                sentences.append(sentence)
    return sentences


def _edit(text: str, rng: random.Random, sentences_pool: list[str]) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 4)):  # a few characters changed
        chars[rng.randrange(len(chars))] = rng.choice("的了和与在对是将")
    text = "".join(chars)
    if rng.random() < 0.4:
        text = text.replace("，", "袁").replace("。", "遥")  # pasted from a badly decoded PDF
    if rng.random() < 0.3:
        text += rng.choice(sentences_pool)[:40]  # a personal sentence added
    opener = rng.choice(OPENERS).format(name=rng.choice(SURNAMES) + "某", place=rng.choice(PLACES))
    return opener + text + rng.choice(CLOSERS)


def _slice(sentence: str, rng: random.Random) -> str:
    """Most of a sentence: independent writers do not copy whole sentences alike."""
    keep = max(15, int(len(sentence) * rng.uniform(0.7, 1.0)))
    start = rng.randint(0, len(sentence) - keep)
    return sentence[start : start + keep]


def labelled_comments(
    count: int, *, campaigns: int, campaign_share: float = 0.5, seed: int = 7
) -> list[tuple[str, int | None]]:
    """`count` texts, about `campaign_share` of them letters of `campaigns` campaigns."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    rng.shuffle(sentences)
    # Templates and distinct comments draw on separate sentences, as separate authors would.
    template_pool, distinct_pool = (
        sentences[: len(sentences) // 3],
        sentences[len(sentences) // 3 :],
    )
    # Each template its own sentences: two campaigns never share a paragraph.
    templates, position = [], 0
    for _ in range(campaigns):
        size = rng.randint(3, 4)
        if position + size > len(template_pool):
            raise ValueError(
                f"the corpus has sentences for about {len(template_pool) // 3} campaigns"
            )
        templates.append("".join(template_pool[position : position + size]))
        position += size
    letters = int(count * campaign_share)
    texts = []
    for n in range(letters):
        label = n % campaigns
        texts.append((_edit(templates[label], rng, distinct_pool), label))
    for _ in range(count - letters):
        picked = rng.sample(distinct_pool, rng.randint(3, 4))
        texts.append(("".join(_slice(sentence, rng) for sentence in picked), None))
    rng.shuffle(texts)
    return texts


def pair_scores(truth: list, predicted: list) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping; None labels are singletons."""

    def pairs(counts):
        return sum(n * (n - 1) // 2 for n in counts.values())

    def counts(keys):
        result = {}
        for key in keys:
            if key is not None:
                result[key] = result.get(key, 0) + 1
        return result

    both = [
        (t, p) if t is not None and p is not None else None
        for t, p in zip(truth, predicted, strict=True)
    ]
    true_pairs = pairs(counts(truth))
    predicted_pairs = pairs(counts(predicted))
    agreed = pairs(counts(both))
    precision = agreed / predicted_pairs if predicted_pairs else 1.0
    recall = agreed / true_pairs if true_pairs else 1.0
    return precision, recall
