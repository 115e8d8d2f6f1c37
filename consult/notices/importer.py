"""Turning a parsed notice into a consultation with its clause tree and departments."""

import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from consult.consultations.models import (
    Clause,
    ClauseResponsibility,
    Consultation,
    Department,
    DepartmentAlias,
)

from .parser import ParsedClause, ParsedNotice, abbreviates, is_generic_group

LAST_SECOND = datetime.time(23, 59, 59)


class NoticeImportError(Exception):
    """The notice was read but cannot become a consultation (no deadline, slug taken …)."""


def read_notice_file(path: Path) -> str:
    """Notices come in UTF-8 (with or without BOM) or, from older sites, GB18030."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def department_resolve(name: str, *, issuer: Department | None = None) -> Department:
    """The department known by `name`, created when no department answers to it."""
    name = name.strip()
    found = Department.objects.named(name).first()
    if found:
        return found
    if issuer is not None and abbreviates(name, issuer.full_name or issuer.name):
        DepartmentAlias.objects.create(department=issuer, name=name)
        return issuer
    return Department.objects.create(name=name)


def issuer_resolve(parsed: ParsedNotice) -> Department:
    """The issuing department, joined with the short names the notice uses for it."""
    names = [parsed.issuer, *parsed.issuer_short_names]
    issuer = None
    for name in names:
        issuer = Department.objects.named(name).first()
        if issuer:
            break
    if issuer is None:
        short = parsed.issuer_short_names[0] if parsed.issuer_short_names else parsed.issuer
        issuer = Department.objects.create(name=short, full_name=parsed.issuer)
    elif not issuer.full_name and issuer.name != parsed.issuer:
        issuer.full_name = parsed.issuer
        issuer.save(update_fields=["full_name"])
    for name in names:
        if not Department.objects.named(name).exists():
            DepartmentAlias.objects.create(department=issuer, name=name)
    return issuer


def _local_datetime(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


@transaction.atomic
def notice_import(*, parsed: ParsedNotice, slug: str, source_text: str = "") -> Consultation:
    """Create the consultation, its clauses and any unknown departments, all or nothing."""
    if parsed.closes_on is None:
        raise NoticeImportError("通知中没有找到截止日期（如“于11月10日前反馈”）。")
    if Consultation.objects.filter(slug=slug).exists():
        raise NoticeImportError(f"网址标识“{slug}”已被使用；请用 --slug 指定另一个。")
    opens_on = parsed.opens_on or parsed.published_on or timezone.localdate()
    if opens_on > parsed.closes_on:
        raise NoticeImportError(f"开始日期 {opens_on} 晚于截止日期 {parsed.closes_on}。")

    issuer = issuer_resolve(parsed)
    consultation = Consultation.objects.create(
        title=parsed.title,
        slug=slug,
        issuer=issuer,
        reference_number=parsed.reference_number or "",
        draft_title=parsed.draft_title or "",
        preamble=parsed.preamble,
        responsibility_remarks="\n".join(parsed.remarks),
        published_on=parsed.published_on,
        opens_at=_local_datetime(opens_on, datetime.time.min),
        closes_at=_local_datetime(parsed.closes_on, LAST_SECOND),
        contact_name=parsed.contact.name or "",
        contact_phone=parsed.contact.phone or "",
        contact_email=parsed.contact.email or "",
        source_text=source_text,
    )
    departments = {}

    def resolve(name):
        if name not in departments:
            departments[name] = department_resolve(name, issuer=issuer)
        return departments[name]

    def create(parsed_clause: ParsedClause, parent: Clause | None, position: int):
        path = f"{parent.path}.{position:04d}" if parent else f"{position:04d}"
        label = parsed_clause.number
        if parent and parsed_clause.level != Clause.Level.ARTICLE:
            label = parent.label + parsed_clause.number
        clause = Clause.objects.create(
            consultation=consultation,
            parent=parent,
            position=position,
            path=path,
            number=parsed_clause.number,
            label=label,
            level=parsed_clause.level,
            heading=parsed_clause.heading,
            text=parsed_clause.text,
        )
        named = [(ClauseResponsibility.Role.LEAD, n) for n in parsed_clause.lead] + [
            (ClauseResponsibility.Role.COOPERATING, n) for n in parsed_clause.cooperating
        ]
        ClauseResponsibility.objects.bulk_create(
            ClauseResponsibility(
                clause=clause,
                position=i,
                role=role,
                name=name,
                department=None if is_generic_group(name) else resolve(name),
            )
            for i, (role, name) in enumerate(named)
        )
        for i, child in enumerate(parsed_clause.children, start=1):
            create(child, clause, i)

    for i, parsed_clause in enumerate(parsed.clauses, start=1):
        create(parsed_clause, None, i)
    return consultation
