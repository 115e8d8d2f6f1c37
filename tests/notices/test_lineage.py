"""Clause lineage: the links proposed between two drafts, their kinds and scores."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.lineage import labelled_links, labelled_pairs, pair_passages
from consult.notices.lineage import (
    CONFIDENT,
    Kind,
    Link,
    Passage,
    outcome,
    passages_from_parsed,
    propose_links,
)
from consult.notices.parser import parse_notice

ROOT = Path(__file__).resolve().parents[2]
NOTICES = ROOT / "fixtures" / "notices"
REVISIONS = NOTICES / "revisions"

# Sentences of the Weifang draft, the stuff the drafts below are made of.
TALENT = "依托潍坊职教资源优势,精准研判重点领域和方向,加大海洋专业人才培育力度。"
DIGITAL = "加快集聚区5G、千兆光网等新一代信息基础设施建设,基站建设优先向集聚区布局。"
CARBON = "将碳达峰碳中和纳入集聚区建设整体布局,加快绿色转型,严控高污染、高能耗企业进驻集聚区。"
WATER = "源头削减入海排污总量,完善集聚区污水集中处理配套设施,提升海陆统筹整体监管水平。"
OPEN = "支持集聚区企业开展跨国并购、设立境外营销网络,建立境外能源资源生产基地。"
JOINT = "鼓励同类型产业集聚区、上下游产业集聚区跨区域对接合作,积极发展飞地经济,定向承接产业转移。"
FUNDS = "发挥新旧动能转换基金引导作用,对集聚区内符合基金投资条件的优质产业项目予以重点支持。"
SENTENCES = [TALENT, DIGITAL, CARBON, WATER, OPEN, JOINT, FUNDS]


def item(key, text, heading="", departments=(), parent=None, number=None):
    return Passage(key, number or key, heading, text, tuple(departments), parent)


def pairs(links):
    return {(link.old, link.new) for link in links}


def by_pair(links):
    return {(link.old, link.new): link for link in links}


def test_weifang_second_draft_links_are_all_right():
    """On the Weifang notice and its hand-edited second draft every proposed link is the
    labelled one: the renumbering, the split, the merge, the dropped and the new items."""
    old = passages_from_parsed(parse_notice((NOTICES / "weifang-marine-2024.txt").read_text()))
    new = passages_from_parsed(
        parse_notice((NOTICES / "weifang-marine-2024-draft2.txt").read_text())
    )

    links = propose_links(old, new)

    assert pairs(links) == labelled_links(REVISIONS / "weifang-draft2" / "links.txt")
    found = by_pair(links)
    assert found["二(一)1", "二(一)2"].kind == Kind.SPLIT
    assert found["二(五)2", "二(五)1"].kind == Kind.MERGED
    assert found["二(三)4", "二(三)3"].kind == Kind.RENUMBERED
    assert found["二(三)3", None].kind == Kind.DROPPED
    assert found[None, "二(四)1"].kind == Kind.NEW
    assert found["二(四)", "二(四)"].kind == Kind.REWORDED
    # Only its departments changed.
    assert found["二(二)2", "二(二)2"] == Link("二(二)2", "二(二)2", Kind.KEPT, 1.0)
    assert all(link.score >= CONFIDENT for link in links)


def test_weifang_pair_is_the_fixture_itself():
    """The labelled Weifang pair holds the fixtures the importer reads, not copies that drift."""
    folder = REVISIONS / "weifang-draft2"
    assert (folder / "old.txt").read_bytes() == (NOTICES / "weifang-marine-2024.txt").read_bytes()
    draft2 = NOTICES / "weifang-marine-2024-draft2.txt"
    assert (folder / "new.txt").read_bytes() == draft2.read_bytes()


def test_second_draft_parses_like_the_first():
    """The second draft reads like the original: same title and issuer, a new comment period,
    the clause tree with its edits."""
    first = parse_notice((NOTICES / "weifang-marine-2024.txt").read_text())
    second = parse_notice((NOTICES / "weifang-marine-2024-draft2.txt").read_text())

    assert (second.title, second.draft_title, second.issuer) == (
        first.title,
        first.draft_title,
        first.issuer,
    )
    assert second.remarks == first.remarks
    assert second.published_on > first.closes_on
    assert second.closes_on > second.published_on
    numbers = [p.number for p in passages_from_parsed(second)]
    assert numbers[:6] == ["一", "二", "二(一)", "二(一)1", "二(一)2", "二(一)3"]
    assert "二(三)4" not in numbers and "二(五)3" not in numbers and "三(四)" in numbers


def test_labelled_pairs_reach_the_target():
    """Over the labelled revision pairs (at least five) precision and recall of the proposed
    links are at least 0.95, and every label names clauses of its drafts."""
    folders = labelled_pairs()
    assert len(folders) >= 5
    right = proposed = labelled = 0
    for folder in folders:
        labels = labelled_links(folder / "links.txt")
        old, new = pair_passages(folder)
        old_keys, new_keys = {p.key for p in old} | {None}, {p.key for p in new} | {None}
        assert all(o in old_keys and n in new_keys for o, n in labels), folder.name
        found = pairs(propose_links(old, new))
        right += len(found & labels)
        proposed += len(found)
        labelled += len(labels)
    assert right / proposed >= 0.95
    assert right / labelled >= 0.95


def test_identical_clause_is_kept_with_full_score():
    old = [item("1", TALENT)]
    assert propose_links(old, list(old)) == [Link("1", "1", Kind.KEPT, 1.0)]


def test_department_change_alone_keeps_the_clause():
    """Departments are not part of the text compared: a new cooperating department is no
    rewording."""
    old = [item("1", TALENT, departments=["市委组织部", "市教育局"])]
    new = [item("1", TALENT, departments=["市委组织部", "市人社局", "市教育局"])]
    assert propose_links(old, new) == [Link("1", "1", Kind.KEPT, 1.0)]


def test_full_width_and_line_breaks_are_no_rewording():
    old = [item("1", "加快集聚区5G、千兆光网等建设,基站建设优先向集聚区布局。")]
    new = [item("1", "加快集聚区５Ｇ、千兆光网等建设，\n基站建设优先向集聚区布局。")]
    assert propose_links(old, new)[0].kind == Kind.KEPT


def test_reworded_clause_keeps_its_place_with_a_lower_score():
    old = [item("1", TALENT + DIGITAL)]
    new = [item("1", TALENT.replace("加大", "切实加大") + DIGITAL.replace("5G", "5G-A"))]
    [link] = propose_links(old, new)
    assert (link.old, link.new, link.kind) == ("1", "1", Kind.REWORDED)
    assert CONFIDENT < link.score < 1


def test_insertion_renumbers_the_items_after_it():
    """An item inserted first: it is new and every later item is renumbered, not taken for the
    item that had its number before."""
    old = [item("1", TALENT), item("2", DIGITAL), item("3", CARBON)]
    new = [item("1", WATER), item("2", TALENT), item("3", DIGITAL), item("4", CARBON)]

    links = propose_links(old, new)

    assert [(link.old, link.new, link.kind) for link in links] == [
        (None, "1", Kind.NEW),
        ("1", "2", Kind.RENUMBERED),
        ("2", "3", Kind.RENUMBERED),
        ("3", "4", Kind.RENUMBERED),
    ]
    assert all(link.score == 1.0 for link in links)


def test_dropped_item_renumbers_the_items_after_it():
    old = [item("1", TALENT), item("2", DIGITAL), item("3", CARBON), item("4", WATER)]
    new = [item("1", TALENT), item("2", CARBON), item("3", WATER)]

    links = propose_links(old, new)

    assert [(link.old, link.new, link.kind) for link in links] == [
        ("1", "1", Kind.KEPT),
        ("2", None, Kind.DROPPED),
        ("3", "2", Kind.RENUMBERED),
        ("4", "3", Kind.RENUMBERED),
    ]
    assert outcome("2", links) == (Kind.DROPPED, ())
    assert outcome("4", links) == (Kind.RENUMBERED, ("3",))


def test_split_links_one_old_clause_to_each_piece():
    old = [item("1", OPEN + JOINT + FUNDS), item("2", TALENT)]
    new = [item("1", OPEN), item("2", JOINT + FUNDS), item("3", TALENT)]

    links = propose_links(old, new)

    assert {(link.old, link.new): link.kind for link in links} == {
        ("1", "1"): Kind.SPLIT,
        ("1", "2"): Kind.SPLIT,
        ("2", "3"): Kind.RENUMBERED,
    }
    assert outcome("1", links) == (Kind.SPLIT, ("1", "2"))
    assert all(link.score == 1.0 for link in links)


def test_merge_links_each_old_clause_to_the_one_new():
    old = [item("1", OPEN), item("2", JOINT), item("3", FUNDS)]
    new = [item("1", OPEN.rstrip("。") + "," + JOINT), item("2", FUNDS)]

    links = propose_links(old, new)

    found = by_pair(links)
    assert set(found) == {("1", "1"), ("2", "1"), ("3", "2")}
    assert found["1", "1"].kind == found["2", "1"].kind == Kind.MERGED
    assert outcome("2", links) == (Kind.MERGED, ("1",))
    assert found["3", "2"].kind == Kind.RENUMBERED


def test_sentences_joined_by_a_rewording_still_link():
    """Two short items merged into one sentence (no sentence survives whole) still link."""
    old = [
        item("1", "推进物联网应用。在蔬菜大棚部署环境传感器。"),
        item("2", "建设大数据平台。汇聚产销数据。"),
    ]
    new = [
        item("1", "推进物联网和大数据应用。在蔬菜大棚部署环境传感器,汇聚产销数据,建设大数据平台。")
    ]
    assert pairs(propose_links(old, new)) == {("1", "1"), ("2", "1")}


def test_unrelated_texts_are_new_and_dropped_with_confidence():
    old = [item("1", TALENT + DIGITAL)]
    new = [item("1", CARBON + WATER)]

    links = propose_links(old, new)

    assert {(link.old, link.new, link.kind) for link in links} == {
        (None, "1", Kind.NEW),
        ("1", None, Kind.DROPPED),
    }
    assert all(link.score >= CONFIDENT for link in links)


def test_a_half_borrowed_new_clause_is_new_with_a_lower_score():
    """A new clause reusing one sentence of an old one is new, flagged below full certainty."""
    old = [item("1", TALENT), item("2", DIGITAL + CARBON + WATER)]
    new = [item("1", TALENT), item("2", DIGITAL + CARBON + WATER), item("3", OPEN + JOINT + TALENT)]
    found = by_pair(propose_links(old, new))
    assert found[None, "3"].kind == Kind.NEW
    assert found[None, "3"].score < 1


def section(key, heading, number=None):
    return Passage(key, number or key, heading, "")


def test_sections_follow_their_items_when_they_swap():
    """Two sections swap places with their items: each section, heading and items, is linked to
    where it went, never the heading alone to the section now at its number."""
    old = [
        section("(一)", "增强海洋产业创新能力"),
        item("(一)1", TALENT, parent="(一)"),
        item("(一)2", DIGITAL, parent="(一)"),
        section("(二)", "推进绿色低碳高质量发展"),
        item("(二)1", CARBON, parent="(二)"),
        item("(二)2", WATER, parent="(二)"),
    ]
    new = [
        section("(一)", "推进绿色低碳发展"),
        item("(一)1", CARBON, parent="(一)"),
        item("(一)2", WATER, parent="(一)"),
        section("(二)", "增强海洋产业创新能力"),
        item("(二)1", TALENT, parent="(二)"),
        item("(二)2", DIGITAL, parent="(二)"),
    ]

    links = by_pair(propose_links(old, new))

    assert set(links) == {
        ("(一)", "(二)"),
        ("(一)1", "(二)1"),
        ("(一)2", "(二)2"),
        ("(二)", "(一)"),
        ("(二)1", "(一)1"),
        ("(二)2", "(一)2"),
    }
    assert links["(一)", "(二)"] == Link("(一)", "(二)", Kind.RENUMBERED, 1.0)
    assert links["(二)", "(一)"].kind == Kind.RENUMBERED


def test_section_heading_is_never_linked_to_an_item():
    """A section dissolved into an item of the same words: the section is dropped, its item
    continues into the new item."""
    old = [section("三", "加强组织领导"), item("三1", TALENT, parent="三")]
    new = [item("三", "加强组织领导。" + TALENT)]
    links = by_pair(propose_links(old, new))
    assert links["三", None].kind == Kind.DROPPED
    assert ("三1", "三") in links


def test_section_with_its_items_replaced_keeps_its_heading_link():
    old = [section("一", "保障措施"), item("一1", TALENT, parent="一")]
    new = [section("一", "保障措施"), item("一1", CARBON, parent="一")]
    links = by_pair(propose_links(old, new))
    assert links["一", "一"].kind == Kind.KEPT
    assert {("一1", None), (None, "一1")} <= set(links)


def test_outcome_of_an_unknown_clause_is_an_error():
    with pytest.raises(KeyError):
        outcome("9", [Link("1", "1", Kind.KEPT, 1.0)])


def test_outcome_reads_corrected_links():
    """A coordinator's correction (a link added by hand) makes a split, whatever the kinds say."""
    links = [Link("1", "1", Kind.KEPT, 1.0), Link("1", "2", Kind.NEW, 1.0)]
    assert outcome("1", links) == (Kind.SPLIT, ("1", "2"))


def test_keys_must_be_unique():
    with pytest.raises(ValueError):
        propose_links([item("1", TALENT), item("1", DIGITAL)], [])


def test_passages_from_parsed_use_the_importers_labels():
    """Keys and numbers are the labels the importer stores (a section's label includes its
    chapter's, an article's is its own), or with keys="path" the importer's paths."""
    commerce = parse_notice((ROOT / "tests/notices/forms/commerce-measures.txt").read_text())
    passages = passages_from_parsed(commerce)
    assert [p.key for p in passages] == [
        "第一章",
        "第一条",
        "第二条",
        "第二章",
        "第二章第一节",
        "第三条",
        "第四条",
        "第二章第二节",
        "第五条",
        "第三章",
        "第六条",
    ]
    assert passages[5].parent == "第二章第一节"
    assert passages[5].heading == "培育龙头企业"
    assert passages[5].departments == ("市商务局", "市财政局")

    by_path = passages_from_parsed(commerce, keys="path")
    assert [p.key for p in by_path][:6] == [
        "0001",
        "0001.0001",
        "0001.0002",
        "0002",
        "0002.0001",
        "0002.0001.0001",
    ]
    assert by_path[5].parent == "0002.0001" and by_path[5].number == "第三条"


@pytest.mark.django_db
def test_passages_from_parsed_match_the_imported_clauses():
    from consult.notices.importer import notice_import

    source = (NOTICES / "weifang-marine-2024.txt").read_text()
    parsed = parse_notice(source)
    consultation = notice_import(parsed=parsed, slug="lineage-labels", source_text=source)

    stored = list(consultation.clauses.order_by("path").values_list("path", "label"))

    assert [(p.key, p.number) for p in passages_from_parsed(parsed, keys="path")] == stored


# Drafts made of Weifang sentences, flat or with sections, and edits of them.
texts = st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=3).map("".join)


@st.composite
def drafts(draw):
    sections = draw(st.integers(min_value=0, max_value=3))
    passages = []
    if sections == 0:
        for i, text in enumerate(draw(st.lists(texts, max_size=6)), start=1):
            passages.append(item(str(i), text))
        return passages
    for s in range(1, sections + 1):
        key = f"S{s}"
        passages.append(section(key, draw(st.sampled_from(["主要任务", "保障措施", ""]))))
        for i, text in enumerate(draw(st.lists(texts, max_size=4)), start=1):
            passages.append(item(f"{key}.{i}", text, parent=key))
    return passages


@given(drafts())
@settings(max_examples=150, deadline=None)
def test_identical_drafts_are_all_kept_with_full_score(draft):
    links = propose_links(draft, list(draft))
    assert sorted((link.old, link.new) for link in links) == sorted((p.key, p.key) for p in draft)
    assert all(link.kind == Kind.KEPT and link.score == 1.0 for link in links)


@given(drafts(), drafts())
@settings(max_examples=200, deadline=None)
def test_every_passage_is_in_a_link_and_links_are_well_formed(old, new):
    links = propose_links(old, new)

    assert {p.key for p in old} == {link.old for link in links if link.old is not None}
    assert {p.key for p in new} == {link.new for link in links if link.new is not None}
    assert len(pairs(links)) == len(links)
    for link in links:
        assert 0 <= link.score <= 1
        assert (link.old is None) == (link.kind == Kind.NEW)
        assert (link.new is None) == (link.kind == Kind.DROPPED)
    for passage in old:
        kind, successors = outcome(passage.key, links)
        assert (kind == Kind.SPLIT) == (len(successors) > 1)
    # Never both split and merged: each link has a side of its own.
    for link in links:
        if link.kind in (Kind.SPLIT, Kind.MERGED):
            olds = {other.old for other in links if other.new == link.new}
            news = {other.new for other in links if other.old == link.old}
            assert len(olds) == 1 or len(news) == 1
