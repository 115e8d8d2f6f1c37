"""The draft as published, for downloading and printing: the clause tree in document order,
each clause numbered as the notice writes it (`Clause.printed_number`), and the .docx and
PDF built from it.

One outline feeds the printable page, the Word document and the PDF, so the three never
disagree on a number or a department.
"""

import dataclasses
import io
import zipfile
from pathlib import Path

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.consultations.models import ClauseResponsibility, Consultation
from consult.intake.templatetags.moments import moment
from consult.text import xml_text


@dataclasses.dataclass(frozen=True)
class OutlineClause:
    depth: int
    number: str  # as printed
    heading: str
    body: str  # the text, without a heading it merely repeats
    lead_names: list[str]
    cooperating_names: list[str]

    @property
    def first_line(self) -> str:
        return f"{self.number} {self.heading}".strip()


def draft_outline(consultation: Consultation) -> list[OutlineClause]:
    """Every clause in document order; two queries."""
    responsibilities = Prefetch(
        "responsibilities", queryset=ClauseResponsibility.objects.order_by("position")
    )
    clauses = list(
        consultation.current_clauses().prefetch_related(responsibilities).order_by("path")
    )
    outline = []
    for clause in clauses:
        names = list(clause.responsibilities.all())
        text = clause.text.strip()
        heading = clause.heading.strip()
        if heading and text.startswith(heading):
            # The notice writes "1.分类推进…建设。坚持…": one paragraph, the heading its start.
            heading, body = text, ""
        else:
            body = text if text != heading else ""
        outline.append(
            OutlineClause(
                depth=clause.depth,
                number=clause.printed_number,
                heading=heading,
                body=body,
                lead_names=[r.name for r in names if r.role == r.Role.LEAD],
                cooperating_names=[r.name for r in names if r.role != r.Role.LEAD],
            )
        )
    return outline


def draft_facts(consultation: Consultation, revision=None) -> list[tuple[str, str]]:
    """The lines under the title: issuer, reference number, period (Beijing time) — the
    period of `revision` when given (an earlier draft's report), else the current draft's."""
    issuer = consultation.issuer
    # To the second, as the pages give it: a period closing at 16:59:59 does not read 16:59.
    beijing = timezone.get_default_timezone()
    opens_at, closes_at = consultation.period_of(revision)
    opens = moment(timezone.localtime(opens_at, beijing), "second")
    closes = moment(timezone.localtime(closes_at, beijing), "second")
    facts = [(_("发布单位"), issuer.full_name or issuer.name)]
    if consultation.reference_number:
        facts.append((_("文号"), consultation.reference_number))
    period = _("%(opens)s — %(closes)s（北京时间）") % {"opens": opens, "closes": closes}
    facts.append((_("征求意见时间"), period))
    return facts


# The punctuation around labels and lists is the language's: full-width in Chinese, "A: B",
# "x, y" and "(…)" in English.


def labelled(label, value) -> str:
    return _("%(label)s：%(value)s") % {"label": label, "value": value}


def in_brackets(text) -> str:
    return _("（%(text)s）") % {"text": text}


def draft_title_line(consultation: Consultation) -> str:
    """《draft title》（征求意见稿）, or “draft title” (draft for comment) in English; the final
    text's title alone (the pages say the same: consultation_detail.html, draft_print.html)."""
    title = _("《%(title)s》") % {"title": consultation.draft_title}
    revision = consultation.current_revision
    if revision is not None and revision.is_final:
        return title
    if revision is not None and revision.number > 1:
        # Printed or saved, the second draft is told from the first by its number alone.
        return title + _label_in_brackets(revision)
    return title + _("（征求意见稿）")


def _label_in_brackets(revision) -> str:
    """（第2稿）, or " (Draft 2)" in English: after a title, as the pages write it."""
    return _("（%(label)s）") % {"label": revision.label}


def responsibility_line(clause: OutlineClause, *, names=None) -> str:
    """“牵头单位：A；责任/配合单位：B、C”. `names` writes a list of departments' names: the
    printable page marks them as the notice's Chinese on a page in another language."""
    names = names or _("、").join
    parts = []
    if clause.lead_names:
        parts.append(labelled(_("牵头单位"), names(clause.lead_names)))
    if clause.cooperating_names:
        parts.append(labelled(_("责任/配合单位"), names(clause.cooperating_names)))
    return _("；").join(parts)


def draft_filename(consultation: Consultation, extension: str) -> str:
    """The consultation's title, and a later draft's number: the two drafts' files saved side
    by side are not one name."""
    revision = consultation.current_revision
    if revision is not None and revision.number > 1:
        return f"{consultation.title}{_label_in_brackets(revision)}.{extension}"
    return f"{consultation.title}.{extension}"


# The Word document ------------------------------------------------------------------------


def draft_docx(consultation: Consultation) -> bytes:
    """Title, issuer, period, the preamble, then every clause with its number and departments."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(12)
    # East Asian text needs a font of its own in Word; without one it falls back unpredictably.
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    document.core_properties.title = xml_text(consultation.title)
    document.core_properties.author = xml_text(
        consultation.issuer.full_name or consultation.issuer.name
    )
    document.add_heading(xml_text(consultation.title), level=0)
    if consultation.draft_title:
        document.add_paragraph(xml_text(draft_title_line(consultation)))
    for label, value in draft_facts(consultation):
        document.add_paragraph(xml_text(labelled(label, value)))
    if consultation.preamble:
        for line in consultation.preamble.splitlines():
            if line.strip():
                document.add_paragraph(xml_text(line.strip()))
    if consultation.responsibility_remarks:
        document.add_paragraph(xml_text(consultation.responsibility_remarks))
    for clause in draft_outline(consultation):
        if clause.depth == 0:
            document.add_heading(xml_text(clause.first_line), level=1)
        else:
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.left_indent = Cm(0.75 * clause.depth)
            paragraph.add_run(xml_text(clause.first_line)).bold = bool(clause.body)
        if clause.body:
            paragraph = document.add_paragraph(xml_text(clause.body))
            paragraph.paragraph_format.left_indent = Cm(0.75 * clause.depth)
        responsibilities = responsibility_line(clause)
        if responsibilities:
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.left_indent = Cm(0.75 * clause.depth)
            paragraph.add_run(xml_text(in_brackets(responsibilities))).italic = True
    out = io.BytesIO()
    document.save(out)
    return _zip_dated(out.getvalue(), consultation.created_at)


def _zip_dated(data: bytes, moment) -> bytes:
    """The zip with every entry dated `moment` (python-docx dates them when it saves): the same
    draft, the same bytes, and so the same ETag from every worker, as the PDF."""
    stamp = timezone.localtime(moment).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as dated:
        for entry in source.infolist():
            copy = zipfile.ZipInfo(entry.filename, date_time=stamp)
            copy.compress_type = entry.compress_type
            copy.external_attr = entry.external_attr
            dated.writestr(copy, source.read(entry))
    return out.getvalue()


# The PDF ----------------------------------------------------------------------------------

# A font with the Chinese characters, in Debian's packages (scripts/system-deps installs the
# first); the first one present is used. Without any, no PDF: the printable page remains.
CJK_FONTS = [
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
]


def cjk_font() -> Path | None:
    return next((path for path in CJK_FONTS if path.is_file()), None)


class PdfUnavailable(Exception):
    """No font with Chinese characters is installed."""


def draft_pdf(consultation: Consultation) -> bytes:
    """The same outline as the .docx, on A4, in the first CJK font installed."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    font = cjk_font()
    if font is None:
        raise PdfUnavailable
    pdf = FPDF(format="A4")
    # Without the control characters a notice pasted from a PDF may carry, as the Word file
    # and the feeds leave them out: the font has no glyph for them.
    pdf.set_title(xml_text(consultation.title))
    pdf.set_author(xml_text(consultation.issuer.full_name or consultation.issuer.name))
    pdf.set_creation_date(consultation.created_at)  # the same draft, the same bytes
    pdf.add_font("cjk", fname=str(font))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    def write(text, *, size=11, indent=0.0, gap=1.5):
        pdf.set_font("cjk", size=size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(
            0,
            size * 0.55,
            xml_text(text),
            wrapmode=WrapMode.CHAR,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(gap)

    write(consultation.title, size=17, gap=4)
    if consultation.draft_title:
        write(draft_title_line(consultation), size=12)
    for label, value in draft_facts(consultation):
        write(labelled(label, value), size=10, gap=0.5)
    pdf.ln(4)
    for line in consultation.preamble.splitlines():
        if line.strip():
            write(line.strip())
    if consultation.responsibility_remarks:
        write(consultation.responsibility_remarks, size=10)
    for clause in draft_outline(consultation):
        indent = 6.0 * clause.depth
        write(clause.first_line, size=13 if clause.depth == 0 else 11, indent=indent)
        if clause.body:
            write(clause.body, indent=indent)
        responsibilities = responsibility_line(clause)
        if responsibilities:
            write(in_brackets(responsibilities), size=9, indent=indent)
    return bytes(pdf.output())
