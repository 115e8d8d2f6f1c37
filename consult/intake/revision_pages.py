"""What the public revision pages show: each clause of a revision beside what it was in the
revision before, the text difference, the departments before and after, and — once the report
on the revision before is published — what the comments on the old clause received, as that
report's line on it says."""

from dataclasses import dataclass, field

from diff_match_patch import diff_match_patch
from django.db.models import Prefetch

from consult.consultations.models import Clause, ClauseLink, ClauseResponsibility, Revision
from consult.consultations.revisions import revision_before
from consult.reports.models import AdoptionReport, ReportClause
from consult.reports.services import report_path

DECISIONS = ("adopted", "partly_adopted", "not_adopted", "explained")

# diff_match_patch's operations.
DELETED, SAME, INSERTED = -1, 0, 1
# A clause's text is short; a pathological pair must not hold a request for long.
DIFF_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Piece:
    """A run of the difference: kept, inserted or deleted text."""

    op: str  # "same", "ins" or "del"
    text: str


def text_difference(old: str, new: str) -> list[Piece]:
    """The changes from old to new, grouped into runs a reader takes in at a glance (semantic
    cleanup: no scatter of one-character edits across Chinese text)."""
    engine = diff_match_patch()
    engine.Diff_Timeout = DIFF_TIMEOUT_SECONDS
    diffs = engine.diff_main(old or "", new or "")
    engine.diff_cleanupSemantic(diffs)
    names = {DELETED: "del", SAME: "same", INSERTED: "ins"}
    return [Piece(names[op], text) for op, text in diffs if text]


def responsibility_names(clause: Clause) -> dict[str, list[str]]:
    """{"lead": [...], "cooperating": [...]} as the clause's parenthesis names them."""
    names = {"lead": [], "cooperating": []}
    for responsibility in clause.responsibilities.all():
        names["lead" if responsibility.role == "lead" else "cooperating"].append(
            responsibility.name
        )
    return names


@dataclass
class Change:
    """One clause of the revision with its predecessors, or one old clause that was dropped."""

    kind: str
    new: Clause | None
    olds: list[Clause]
    pieces: list[Piece] = field(default_factory=list)
    departments_before: dict = field(default_factory=dict)
    departments_after: dict = field(default_factory=dict)
    # From the published report on the revision before (None: not published yet).
    comments: int | None = None
    decisions: dict = field(default_factory=dict)
    report_urls: list[tuple[Clause, str]] = field(default_factory=list)
    # The old clauses whose anchor (#old-<id>) is here: each once, at its first change.
    anchors: list[Clause] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return ClauseLink.Kind(self.kind).label

    @property
    def departments_changed(self) -> bool:
        return self.departments_before != self.departments_after


def _merged_names(clauses) -> dict[str, list[str]]:
    merged = {"lead": [], "cooperating": []}
    for clause in clauses:
        for role, names in responsibility_names(clause).items():
            merged[role] += [name for name in names if name not in merged[role]]
    return merged


def revision_changes(revision: Revision) -> tuple[Revision | None, list[Change]]:
    """The revision before this one and the changes, in the new text's order; dropped
    clauses come last in the old text's order."""
    previous = revision_before(revision)
    with_names = Prefetch(
        "responsibilities", queryset=ClauseResponsibility.objects.order_by("position")
    )
    clause_rows = Clause.objects.prefetch_related(with_names)
    links = list(
        revision.links.select_related(None).prefetch_related(
            Prefetch("old", queryset=clause_rows), Prefetch("new", queryset=clause_rows)
        )
    )
    old_ids = {link.old_id for link in links if link.old_id}
    # What the comments on the old clauses received is public with the report on the previous
    # revision, as its lines say: never counted from the comments here.
    report = (
        AdoptionReport.objects.filter(revision=previous, published_at__isnull=False)
        .select_related("consultation", "revision")
        .first()
    )
    report_lines, report_page = {}, ""
    if report is not None:
        report_lines = {
            line.clause_id: line
            for line in ReportClause.objects.filter(report=report, clause_id__in=old_ids)
        }
        report_page = report_path(report)

    by_new, dropped = {}, []
    for link in links:
        if link.new_id is None:
            dropped.append(Change(kind=ClauseLink.Kind.DROPPED, new=None, olds=[link.old]))
            continue
        change = by_new.setdefault(link.new_id, Change(kind=link.kind, new=link.new, olds=[]))
        if link.old_id:
            change.olds.append(link.old)
        if link.kind == ClauseLink.Kind.MERGED:
            change.kind = ClauseLink.Kind.MERGED
    changes = sorted(by_new.values(), key=lambda c: c.new.path)
    changes += sorted(dropped, key=lambda c: c.olds[0].path)
    anchored = set()
    for change in changes:
        change.olds.sort(key=lambda clause: clause.path)
        change.anchors = [clause for clause in change.olds if clause.pk not in anchored]
        anchored.update(clause.pk for clause in change.olds)
        old_text = "\n".join(clause.text for clause in change.olds)
        change.pieces = text_difference(old_text, change.new.text if change.new else "")
        change.departments_before = _merged_names(change.olds)
        change.departments_after = _merged_names([change.new] if change.new else [])
        if report is None:
            continue
        lined = [
            (clause, report_lines[clause.pk]) for clause in change.olds if clause.pk in report_lines
        ]
        change.comments = sum(line.comments for _clause, line in lined)
        change.decisions = {
            decision: sum(getattr(line, decision) for _clause, line in lined)
            for decision in DECISIONS
        }
        change.report_urls = [(clause, f"{report_page}#line-{line.pk}") for clause, line in lined]
    return previous, changes
