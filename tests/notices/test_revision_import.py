"""import_notice --revision-of: a later draft (or the final text) becomes the next revision of a
consultation, its clauses linked to the last revision's for a coordinator to confirm."""

import datetime
import zoneinfo
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from consult.consultations.models import ClauseLink, Revision
from consult.notices.importer import NoticeImportError, revision_import
from consult.notices.parser import parse_notice
from tests.support.revisions import DRAFT2

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
K = ClauseLink.Kind

pytestmark = pytest.mark.django_db

# What became of each clause of the first draft in the second, as a careful reader sees it:
# (old label, new label, kind). 二(一)1 was split into 二(一)1 and the new 二(一)2 (海洋服务业),
# 二(三)3 (人才) was dropped, 二(五)1 and 二(五)2 were merged, 二(四)1 and 三(四) are new.
WEIFANG_SECOND_DRAFT_LINKS = {
    ("一", "一", K.REWORDED),
    ("二", "二", K.KEPT),
    ("二(一)", "二(一)", K.KEPT),
    ("二(一)1", "二(一)1", K.SPLIT),
    ("二(一)1", "二(一)2", K.SPLIT),
    ("二(一)2", "二(一)3", K.RENUMBERED),
    ("二(二)", "二(二)", K.KEPT),
    ("二(二)1", "二(二)1", K.REWORDED),
    ("二(二)2", "二(二)2", K.KEPT),
    ("二(二)3", "二(二)3", K.REWORDED),
    ("二(三)", "二(三)", K.KEPT),
    ("二(三)1", "二(三)1", K.KEPT),
    ("二(三)2", "二(三)2", K.KEPT),
    ("二(三)3", None, K.DROPPED),
    ("二(三)4", "二(三)3", K.RENUMBERED),
    ("二(四)", "二(四)", K.REWORDED),
    (None, "二(四)1", K.NEW),
    ("二(四)1", "二(四)2", K.RENUMBERED),
    ("二(四)2", "二(四)3", K.RENUMBERED),
    ("二(四)3", "二(四)4", K.RENUMBERED),
    ("二(五)", "二(五)", K.KEPT),
    ("二(五)1", "二(五)1", K.MERGED),
    ("二(五)2", "二(五)1", K.MERGED),
    ("二(五)3", "二(五)2", K.RENUMBERED),
    ("三", "三", K.KEPT),
    ("三(一)", "三(一)", K.REWORDED),
    ("三(二)", "三(二)", K.KEPT),
    ("三(三)", "三(三)", K.KEPT),
    (None, "三(四)", K.NEW),
}


def _links(revision):
    return {
        (link.old.label if link.old else None, link.new.label if link.new else None, link.kind)
        for link in revision.links.select_related("old", "new")
    }


def test_the_weifang_second_draft_imports_as_revision_2_with_every_link_right(weifang_open):
    stderr = StringIO()
    call_command("import_notice", str(DRAFT2), "--revision-of", weifang_open.slug, stderr=stderr)
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    assert _links(revision) == WEIFANG_SECOND_DRAFT_LINKS
    assert "Imported revision 2 of weifang-open" in stderr.getvalue()
    # Its own period, unpublished; the first draft is still what citizens see and comment on.
    assert revision.opens_at == datetime.datetime(2024, 12, 2, tzinfo=SHANGHAI)
    assert revision.closes_at == datetime.datetime(2024, 12, 16, 23, 59, 59, tzinfo=SHANGHAI)
    assert revision.published_at is None
    assert revision.source_text == DRAFT2.read_text("utf-8")
    assert not revision.links.filter(confirmed_at__isnull=False).exists()
    weifang_open.refresh_from_db()
    assert weifang_open.current_revision.number == 1
    assert weifang_open.current_clauses().filter(label="二(三)3").exists()
    # Every clause of both drafts is in a link.
    first = weifang_open.current_revision
    assert set(first.clauses.values_list("pk", flat=True)) == set(
        revision.links.exclude(old=None).values_list("old", flat=True)
    )
    assert set(revision.clauses.values_list("pk", flat=True)) == set(
        revision.links.exclude(new=None).values_list("new", flat=True)
    )


def test_the_new_clauses_carry_their_own_departments(weifang_open):
    call_command(
        "import_notice", str(DRAFT2), "--revision-of", weifang_open.slug, stderr=StringIO()
    )
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    new_item = revision.clauses.get(label="二(四)1")
    assert new_item.responsibilities.exists()
    assert all(r.department is None or r.department.name for r in new_item.responsibilities.all())
    assert new_item.consultation == weifang_open


def test_a_second_revision_waits_for_the_first_to_be_published(weifang_open):
    call_command(
        "import_notice", str(DRAFT2), "--revision-of", weifang_open.slug, stderr=StringIO()
    )
    with pytest.raises(CommandError, match="尚未发布"):
        call_command(
            "import_notice", str(DRAFT2), "--revision-of", weifang_open.slug, stderr=StringIO()
        )
    assert Revision.objects.filter(consultation=weifang_open).count() == 2


def test_a_final_text_is_imported_without_a_period(weifang_open):
    call_command(
        "import_notice",
        str(DRAFT2),
        "--revision-of",
        weifang_open.slug,
        "--final",
        stderr=StringIO(),
    )
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    assert (revision.is_final, revision.opens_at, revision.closes_at) == (True, None, None)


def test_the_command_names_what_is_wrong(weifang_open):
    with pytest.raises(CommandError, match="no consultation has the slug"):
        call_command("import_notice", str(DRAFT2), "--revision-of", "nope", stderr=StringIO())
    with pytest.raises(CommandError, match="--final needs --revision-of"):
        call_command("import_notice", str(DRAFT2), "--final", stderr=StringIO())
    assert Revision.objects.filter(consultation=weifang_open).count() == 1


def test_a_draft_without_a_deadline_is_refused_unless_final_and_nothing_is_kept(weifang_open):
    source = DRAFT2.read_text("utf-8").replace("请将修改意见于12月16日前反馈至市海渔局", "")
    parsed = parse_notice(source)
    assert parsed.closes_on is None
    with pytest.raises(NoticeImportError, match="--final"):
        revision_import(parsed=parsed, consultation=weifang_open)
    assert Revision.objects.filter(consultation=weifang_open).count() == 1
    assert revision_import(parsed=parsed, consultation=weifang_open, final=True).number == 2


def test_importing_a_new_consultation_still_works_as_before(weifang_open):
    assert weifang_open.revisions.count() == 1
    assert weifang_open.current_revision.clauses.count() == weifang_open.clauses.count()
