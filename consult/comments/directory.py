"""What storing a comment needs to know of its consultation, asked of the database once per
process and version: the clauses, the routes each one decides, the departments and their
mailboxes.

Kept in memory keyed by `Consultation.directory_version`, which every change to any of these
raises in its own transaction (consultations.directory); a request that has read its
consultation knows at once whether what this process holds is current. So a comment costs
the queries that write it, not the ones that look up who it goes to.

What is kept carries the version the database had when it was read, never the one of the
object passed in: a consultation object read long ago (older than what is kept) finds no
match and is served a fresh read each time, so it can slow a caller down but never route
with an old directory.
"""

import threading
from dataclasses import dataclass

from django.conf import settings

from consult.consultations.models import (
    Clause,
    ClauseResponsibility,
    Consultation,
    Department,
    commentable_revision_id,
)
from consult.notifications.outbox import recipients_by_department

from .routing import ClauseNode, HeadingOwner, Route, routes_decide

# Consultations kept per process: the open ones are what citizens comment on.
KEPT = 64


@dataclass(frozen=True)
class Directory:
    key: tuple
    clauses: dict[int, Clause]  # the current revision's: the only ones open to comment
    routes: dict[int | None, tuple[Route, ...]]  # clause id (None: the whole draft) → routes
    departments: dict[int, Department]
    recipients: dict[int, list[str]]


_kept: dict[int, Directory] = {}
_lock = threading.Lock()


def directory_key(consultation: Consultation, *, version: int | None = None) -> tuple:
    # created_at tells a consultation from an earlier one that had the same id (test databases).
    return (
        consultation.pk,
        consultation.directory_version if version is None else version,
        consultation.created_at,
        consultation.issuer_id,
        settings.ROUTING_HEADING_OWNER,
    )


def directory_of(consultation: Consultation) -> Directory:
    kept = _kept.get(consultation.pk)
    if kept is not None and kept.key == directory_key(consultation):
        return kept
    directory = _directory_load(consultation)
    with _lock:
        if len(_kept) >= KEPT:
            _kept.pop(next(iter(_kept)))
        _kept[consultation.pk] = directory
    return directory


def directories_forget() -> None:
    """For tests that change the directory behind the signals' back (`QuerySet.update`)."""
    with _lock:
        _kept.clear()


def clause_trees(clauses: list[Clause], named) -> dict[int, ClauseNode]:
    """Every clause as routing sees it, from the clauses in path order and their
    (clause id, role, department id) rows in document order."""
    lead, cooperating = {}, {}
    for clause_id, role, department_id in named:
        target = lead if role == ClauseResponsibility.Role.LEAD else cooperating
        target.setdefault(clause_id, []).append(department_id)
    children = {}
    for clause in clauses:
        children.setdefault(clause.parent_id, []).append(clause)
    nodes = {}
    for clause in reversed(clauses):  # children come after their parent in path order
        nodes[clause.pk] = ClauseNode(
            lead=tuple(lead.get(clause.pk, ())),
            cooperating=tuple(cooperating.get(clause.pk, ())),
            children=tuple(nodes[child.pk] for child in children.get(clause.pk, ())),
        )
    return nodes


def _directory_load(consultation: Consultation) -> Directory:
    current = (
        Consultation.objects.only("directory_version", "current_revision_id")
        .annotate(commentable_revision_id=commentable_revision_id())
        .get(pk=consultation.pk)
    )
    key = directory_key(consultation, version=current.directory_version)
    clauses = list(Clause.objects.filter(consultation=consultation).order_by("path"))
    # A department switched off is not routed to: its clauses go as if it were not named (a
    # clause left without a lead is the issuing bureau's to answer), as a transfer to it is
    # refused. Comments already routed to it keep their routes.
    named = (
        ClauseResponsibility.objects.filter(
            clause__consultation=consultation, department__isnull=False, department__is_active=True
        )
        .order_by("clause__path", "position")
        .values_list("clause_id", "role", "department_id")
    )
    trees = clause_trees(clauses, named)
    owner = HeadingOwner(settings.ROUTING_HEADING_OWNER)
    routes = {
        clause_id: tuple(routes_decide(tree, issuer=consultation.issuer_id, heading_owner=owner))
        for clause_id, tree in trees.items()
    }
    routes[None] = tuple(routes_decide(None, issuer=consultation.issuer_id, heading_owner=owner))
    department_ids = {route.department for decided in routes.values() for route in decided}
    return Directory(
        key=key,
        # Routes stay for every revision's clauses (comments already on them are re-routed);
        # a new comment may name only a clause of the text open to comment.
        clauses={
            clause.pk: clause
            for clause in clauses
            if clause.revision_id == current.commentable_revision_id
        },
        routes=routes,
        departments=Department.objects.in_bulk(department_ids),
        recipients=recipients_by_department(department_ids),
    )
