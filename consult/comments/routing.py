"""The routing rule: which departments a comment goes to, and which one answers it.

Pure Python on plain data, so the rule can be read and tested on its own:

- a comment on a clause goes to the clause's lead departments (the first lead owns
  it) and then its cooperating departments;
- a clause that lists departments but no lead is coordinated and owned by the issuing
  department, and every listed department cooperates;
- a clause that names no department (a section heading) is answered by one department:
  the issuing department, or, where the setting says so, the first lead of the clauses below
  it; the other leads below it cooperate. If nobody below leads, the issuing department;
- a comment on the whole draft goes to the issuing department.

Exactly one route answers (`is_owner`). A clause that itself names several leads keeps them
all as 牵头, as the document says; the first of them answers.

Generic groups (各县市区人民政府, 市有关部门) have no mailbox and are left out before
this rule sees a clause.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    LEAD = "lead"
    COOPERATING = "cooperating"
    COORDINATOR = "coordinator"


class HeadingOwner(StrEnum):
    """Who answers a comment on a heading (a clause naming no department)."""

    ISSUER = "issuer"
    FIRST_LEAD = "first_lead"


@dataclass(frozen=True)
class ClauseNode:
    """A clause as routing sees it: department ids in document order, and its children."""

    lead: tuple = ()
    cooperating: tuple = ()
    children: tuple = field(default=())

    def descendant_leads(self):
        for child in self.children:
            yield from child.lead
            yield from child.descendant_leads()


@dataclass(frozen=True)
class Route:
    department: object
    role: Role
    is_owner: bool


def routes_decide(
    clause: ClauseNode | None, *, issuer, heading_owner: HeadingOwner = HeadingOwner.ISSUER
) -> list[Route]:
    """The routes for a comment on `clause` (None for the whole draft), owner first."""
    if clause is None:
        return [Route(issuer, Role.COORDINATOR, True)]
    if clause.lead:
        return _leads_then_cooperating(clause.lead, clause.cooperating)
    if clause.cooperating:
        routes = [Route(issuer, Role.COORDINATOR, True)]
        routes += [
            Route(department, Role.COOPERATING, False)
            for department in _unique(clause.cooperating)
            if department != issuer
        ]
        return routes
    inherited = list(_unique(clause.descendant_leads()))
    if not inherited:
        return [Route(issuer, Role.COORDINATOR, True)]
    if heading_owner == HeadingOwner.FIRST_LEAD:
        return _leads_then_cooperating(inherited[:1], inherited[1:])
    return [Route(issuer, Role.COORDINATOR, True)] + [
        Route(department, Role.COOPERATING, False)
        for department in inherited
        if department != issuer
    ]


def _leads_then_cooperating(leads, cooperating):
    leads = list(_unique(leads))
    routes = [Route(department, Role.LEAD, i == 0) for i, department in enumerate(leads)]
    routes += [
        Route(department, Role.COOPERATING, False)
        for department in _unique(cooperating)
        if department not in leads
    ]
    return routes


def _unique(items):
    seen = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item
