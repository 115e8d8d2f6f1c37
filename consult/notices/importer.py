"""Turning a parsed notice into a consultation with its clause tree and departments, and a
later draft into the consultation's next revision with its clauses linked to the last one's."""

import datetime
import re
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.consultations.directory import directory_changes_batched
from consult.consultations.models import (
    Clause,
    ClauseResponsibility,
    Consultation,
    Department,
    DepartmentAlias,
    Revision,
)
from consult.consultations.revisions import (
    links_store,
    revision_check_can_follow,
    revision_create,
    revision_first,
)
from consult.consultations.services import department_staff_groups_set

from .lineage import Passage, propose_links
from .parser import (
    NoticeParseError,
    ParsedClause,
    ParsedNotice,
    abbreviates,
    is_generic_group,
)

LAST_SECOND = datetime.time(23, 59, 59)


class NoticeImportError(Exception):
    """The notice was read but cannot become a consultation (no deadline, slug taken …)."""


def notice_error_text(error: Exception) -> str:
    """What a notice that cannot be read or imported is told, in the active language: the
    parser's errors carry their untranslated message and its values (the parser is plain
    Python), the importer's are translated where raised."""
    if not isinstance(error, NoticeParseError):
        return str(error)
    message = _(error.template) % error.params if error.params else _(error.template)
    if error.line:
        return _("第%(line)s行：%(message)s") % {"line": error.line, "message": message}
    return message


def read_notice_file(path: Path) -> str:
    """Notices come in UTF-8 (with or without BOM) or, from older sites, GB18030."""
    return notice_text_decode(Path(path).read_bytes())


class NoticeEncodingError(NoticeImportError):
    """The file is not text in an encoding notices come in."""


def notice_text_decode(data: bytes) -> str:
    """A notice's bytes as text: UTF-8 (with or without BOM), else GB18030.

    NUL is refused too: no text file holds one, UTF-16 read as UTF-8 is full of them, and
    the database refuses to store it.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise NoticeEncodingError(
                _("无法识别文件的编码：请使用 UTF-8 或 GB18030 编码的文本文件。")
            ) from None
    if "\x00" in text:
        raise NoticeEncodingError(
            _("文件含有 NUL 字符，不是 UTF-8 或 GB18030 编码的文本文件（UTF-16 请另存为 UTF-8）。")
        )
    return text


# "潍坊" in "潍坊市工业和信息化局": the place a full name begins with, before 市 (or 省, 县, 区).
_PLACE_PREFIX = re.compile(r"^([\u4e00-\u9fff]{2,4}?)(?=[省市县区])")


def department_resolve(
    name: str, *, issuer: Department | None = None, created: list[Department] | None = None
) -> Department:
    """The department known by `name`, created (and appended to `created`) when no
    department answers to it; see `department_find`."""
    found = department_find(name, issuer=issuer)
    if found is None:
        found = Department.objects.create(name=name.strip())
        if created is not None:
            created.append(found)
    return found


def department_find(name: str, *, issuer: Department | None = None) -> Department | None:
    """The department `name` stands for, or None.

    Known names (short name, full name, alias) first; then, remembered as an alias of the
    department found: a short name of the issuer; a full name without its place ("市工业和
    信息化局" for "潍坊市工业和信息化局") or a short name with it ("潍坊市工信局"); a short
    name of exactly one department's full name ("市工业和信息化局" → 市工信局's full name).
    """
    name = name.strip()
    found = Department.objects.named(name).first()
    if found:
        return found
    if issuer is not None and abbreviates(name, issuer.full_name or issuer.name):
        found = issuer
    else:
        found = _department_by_full_name(name)
    if found is not None:
        DepartmentAlias.objects.create(department=found, name=name)
    return found


def _department_by_full_name(name: str) -> Department | None:
    with_full_names = list(Department.objects.exclude(full_name=""))
    places = {
        match.group(1)
        for department in with_full_names
        if (match := _PLACE_PREFIX.match(department.full_name))
    }
    local = name
    for place in places:
        if name.startswith(place) and name[len(place) :].startswith(tuple("省市县区")):
            local = name[len(place) :]
            found = Department.objects.named(local).first()
            if found:
                return found
    for department in with_full_names:
        match = _PLACE_PREFIX.match(department.full_name)
        if match and department.full_name[match.end() :] == local:
            return department
    matching = [d for d in with_full_names if abbreviates(local, d.full_name)]
    return matching[0] if len(matching) == 1 else None


def issuer_resolve(parsed: ParsedNotice, *, created: list[Department] | None = None) -> Department:
    """The issuing department, joined with the short names the notice uses for it; created
    (and appended to `created`) when none is known by them."""
    names = [parsed.issuer, *parsed.issuer_short_names]
    issuer = None
    for name in names:
        issuer = Department.objects.named(name).first()
        if issuer:
            break
    if issuer is None:
        short = parsed.issuer_short_names[0] if parsed.issuer_short_names else parsed.issuer
        issuer = Department.objects.create(name=short, full_name=parsed.issuer)
        if created is not None:
            created.append(issuer)
    elif not issuer.full_name and issuer.name != parsed.issuer:
        issuer.full_name = parsed.issuer
        issuer.save(update_fields=["full_name"])
    for name in names:
        if not Department.objects.named(name).exists():
            DepartmentAlias.objects.create(department=issuer, name=name)
    return issuer


def _local_datetime(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def _period_check(opens_on: datetime.date, parsed: ParsedNotice) -> None:
    """The period must end after it begins: "11月10日0:00前" on the opening day does not."""
    if opens_on > parsed.closes_on:
        raise NoticeImportError(
            _("开始日期 %(opens)s 晚于截止日期 %(closes)s。")
            % {"opens": opens_on, "closes": parsed.closes_on}
        )
    closing = timezone.localtime(_closing_moment(parsed))
    if closing <= _local_datetime(opens_on, datetime.time.min):
        raise NoticeImportError(
            _("截止时间 %(closes)s 早于开始日期 %(opens)s。")
            % {"closes": f"{closing:%Y-%m-%d %H:%M:%S}", "opens": opens_on}
        )


def _closing_moment(parsed: ParsedNotice) -> datetime.datetime:
    """The last second comments are taken: the second before "17:00前", else the day's last."""
    if parsed.closes_before is None:
        return _local_datetime(parsed.closes_on, LAST_SECOND)
    return _local_datetime(parsed.closes_on, parsed.closes_before) - datetime.timedelta(seconds=1)


@directory_changes_batched()
def notice_import(
    *,
    parsed: ParsedNotice,
    slug: str,
    source_text: str = "",
    created: list[Department] | None = None,
) -> Consultation:
    """Create the consultation, its clauses and any unknown departments, all or nothing.

    The departments created are appended to `created`: they have no mailbox yet, so until
    someone gives them one, comments routed to them reach nobody.
    """
    if parsed.closes_on is None:
        raise NoticeImportError(_("通知中没有找到截止日期（如“于11月10日前反馈”）。"))
    # As the admin's form would: a slug no URL can hold broke every page linking to it.
    try:
        Consultation._meta.get_field("slug").clean(slug, None)  # blank, length and characters
    except ValidationError as error:
        raise NoticeImportError(
            _(
                "网址标识“%(slug)s”不可用（只能用字母、数字、连字符和下划线，最多 100 个字符）；"
                "请用 --slug 指定另一个。"
            )
            % {"slug": slug}
        ) from error
    if Consultation.objects.filter(slug=slug).exists():
        raise NoticeImportError(
            _("网址标识“%(slug)s”已被使用；请用 --slug 指定另一个。") % {"slug": slug}
        )
    opens_on = parsed.opens_on or parsed.published_on or timezone.localdate()
    _period_check(opens_on, parsed)

    issuer = issuer_resolve(parsed, created=created)
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
        closes_at=_closing_moment(parsed),
        contact_name=parsed.contact.name or "",
        contact_phone=parsed.contact.phone or "",
        contact_email=parsed.contact.email or "",
        source_text=source_text,
    )
    clauses_create(parsed, revision_first(consultation), created=created)
    department_staff_groups_set(issuer.pk)
    return consultation


def clauses_create(
    parsed: ParsedNotice, revision: Revision, *, created: list[Department] | None = None
) -> None:
    """The revision's clause tree as the notice numbers it, with the departments it names
    (those created appended to `created`)."""
    consultation = revision.consultation
    issuer = consultation.issuer
    departments = {}

    def resolve(name):
        if name not in departments:
            departments[name] = department_resolve(name, issuer=issuer, created=created)
        return departments[name]

    def create(parsed_clause: ParsedClause, parent: Clause | None, position: int):
        path = f"{parent.path}.{position:04d}" if parent else f"{position:04d}"
        label = parsed_clause.number
        if parent and parsed_clause.level != Clause.Level.ARTICLE:
            label = parent.label + parsed_clause.number
        clause = Clause.objects.create(
            consultation=consultation,
            revision=revision,
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


@directory_changes_batched()
def revision_import(
    *,
    parsed: ParsedNotice,
    consultation: Consultation,
    source_text: str = "",
    final=False,
    created: list[Department] | None = None,
) -> Revision:
    """The next revision of the consultation (a second draft, or with `final` the final text,
    which takes no comments), its clauses, and the links to the last revision's clauses
    proposed with their scores for a coordinator to confirm. All or nothing; unpublished.
    Departments created for it are appended to `created`."""
    try:
        previous = revision_check_can_follow(consultation)
    except ValidationError as error:
        raise NoticeImportError(" ".join(error.messages)) from error
    opens_at = closes_at = None
    if not final:
        if parsed.closes_on is None:
            # Said for both ways in: the admin's checkbox and the command's option.
            raise NoticeImportError(
                _(
                    "修改稿中没有找到截止日期（如“于11月10日前反馈”）；如果这是正式文本，"
                    "请勾选“正式文本”（命令行：--final）。"
                )
            )
        opens_on = parsed.opens_on or parsed.published_on or timezone.localdate()
        _period_check(opens_on, parsed)
        opens_at = _local_datetime(opens_on, datetime.time.min)
        closes_at = _closing_moment(parsed)
    revision = revision_create(
        consultation,
        draft_title=parsed.draft_title or "",
        preamble=parsed.preamble,
        source_text=source_text,
        opens_at=opens_at,
        closes_at=closes_at,
        is_final=final,
    )
    clauses_create(parsed, revision, created=created)
    links_propose(previous, revision)
    return revision


def revision_passages(revision: Revision):
    """The revision's clauses as the lineage module reads them (key: the clause's id)."""
    clauses = revision.clauses.order_by("path").prefetch_related(
        Prefetch(
            "responsibilities",
            queryset=ClauseResponsibility.objects.order_by("position"),
        )
    )
    return [
        Passage(
            key=str(clause.pk),
            number=clause.label,
            heading=clause.heading,
            text=clause.text,
            departments=tuple(r.name for r in clause.responsibilities.all()),
            parent=str(clause.parent_id) if clause.parent_id else None,
        )
        for clause in clauses
    ]


def links_propose(previous: Revision, revision: Revision) -> None:
    """Which clause of `previous` each clause of `revision` comes from, with a score."""
    links = propose_links(revision_passages(previous), revision_passages(revision))
    links_store(
        revision,
        [
            (
                int(link.old) if link.old else None,
                int(link.new) if link.new else None,
                str(link.kind),
                link.score,
            )
            for link in links
        ],
    )
