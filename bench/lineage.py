"""Clause lineage on the labelled revision pairs: precision and recall of the proposed links.

    .venv/bin/python bench/lineage.py             # every pair in fixtures/notices/revisions/
    .venv/bin/python bench/lineage.py --verbose   # and every wrong or missing link

Each pair is a folder with old.txt and new.txt (two drafts of one notice) and links.txt, the
links a person labelled by hand, one per line (`二(一)1 -> 二(一)2`, `二(三) -> -` for a dropped
clause, `- -> 三(四)` for a new one, a split or merge as one line per link, `#` comments). A link
is the pair (old, new); the kind is not scored. Pure Python, no database. Writes
var/bench/lineage.json and exits 1 when precision or recall over all pairs is below 0.95.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import results_report  # noqa: E402
from consult.notices.lineage import Passage, passages_from_parsed, propose_links  # noqa: E402
from consult.notices.parser import parse_notice  # noqa: E402

PAIRS = ROOT / "fixtures" / "notices" / "revisions"
TARGET = 0.95
NONE = "-"

LinkPair = tuple[str | None, str | None]


def labelled_links(path: Path) -> set[LinkPair]:
    """The hand-labelled links of a pair's links.txt, as (old key, new key) with None for "-"."""
    links = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        old, arrow, new = line.partition("->")
        if not arrow or not old.strip() or not new.strip():
            raise ValueError(f"{path}:{number}: expected 'old -> new', got {line!r}")
        old, new = old.strip(), new.strip()
        links.add((None if old == NONE else old, None if new == NONE else new))
    return links


def pair_passages(folder: Path) -> tuple[list[Passage], list[Passage]]:
    """The old and new drafts of a labelled pair as passages keyed by their printed labels."""
    return tuple(
        passages_from_parsed(parse_notice((folder / name).read_text(encoding="utf-8")))
        for name in ("old.txt", "new.txt")
    )


def labelled_pairs() -> list[Path]:
    return sorted(folder for folder in PAIRS.iterdir() if (folder / "links.txt").exists())


def _check_keys(folder: Path, labels: set[LinkPair], old, new) -> None:
    old_keys, new_keys = {p.key for p in old}, {p.key for p in new}
    unknown = [
        f"{o or NONE} -> {n or NONE}"
        for o, n in sorted(labels, key=str)
        if (o is not None and o not in old_keys) or (n is not None and n not in new_keys)
    ]
    if unknown:
        raise ValueError(f"{folder.name}/links.txt names clauses the drafts lack: {unknown}")


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list wrong and missing links")
    arguments = parser.parse_args()

    per_pair = {}
    right = proposed_total = labelled_total = 0
    started = time.perf_counter()
    for folder in labelled_pairs():
        labels = labelled_links(folder / "links.txt")
        old, new = pair_passages(folder)
        _check_keys(folder, labels, old, new)
        began = time.perf_counter()
        links = propose_links(old, new)
        elapsed = time.perf_counter() - began
        proposed = {(link.old, link.new) for link in links}
        correct = proposed & labels
        right += len(correct)
        proposed_total += len(proposed)
        labelled_total += len(labels)
        per_pair[folder.name] = {
            "clauses": f"{len(old)} → {len(new)}",
            "labelled": len(labels),
            "proposed": len(proposed),
            "precision": _ratio(len(correct), len(proposed)),
            "recall": _ratio(len(correct), len(labels)),
            "low_scores": sum(1 for link in links if link.score < 0.75),
            "ms": round(elapsed * 1000, 1),
        }
        if arguments.verbose:
            for o, n in sorted(proposed - labels, key=str):
                print(f"{folder.name}: wrong   {o or NONE} -> {n or NONE}", file=sys.stderr)
            for o, n in sorted(labels - proposed, key=str):
                print(f"{folder.name}: missing {o or NONE} -> {n or NONE}", file=sys.stderr)

    precision, recall = _ratio(right, proposed_total), _ratio(right, labelled_total)
    results_report(
        "lineage",
        {
            "pairs": per_pair,
            "overall": {
                "pairs": len(per_pair),
                "labelled": labelled_total,
                "proposed": proposed_total,
                "right": right,
                "precision": precision,
                "recall": recall,
                "seconds": round(time.perf_counter() - started, 2),
            },
            "target": TARGET,
        },
    )
    if len(per_pair) < 5 or precision < TARGET or recall < TARGET:
        print(f"✗ precision {precision}, recall {recall} (target ≥ {TARGET})", file=sys.stderr)
        return 1
    print(f"✓ precision {precision}, recall {recall} over {len(per_pair)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
