"""Clause references in comments: reading citations as citizens write them, and resolving
them against the clause labels of real drafts (Weifang's 二(一)1 items, the commerce
measures' 第三条 articles, Shouguang's items numbered through their sections)."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consult.notices.parser import parse_notice
from consult.notices.references import (
    ClauseIndex,
    Level,
    Reference,
    Step,
    clauses_cited,
    label_path,
    numeral_value,
    references_find,
    references_resolve,
)

ROOT = Path(__file__).resolve().parents[2]
FORMS = Path(__file__).parent / "forms"
CORPUS = ROOT / "fixtures" / "corpus"


def labels_of(path: Path) -> list[str]:
    """The clause labels the importer gives a notice's draft, in document order."""
    labels = []

    def walk(clauses, parent_label):
        for clause in clauses:
            label = clause.number
            if parent_label and clause.level != "article":
                label = parent_label + clause.number
            labels.append(label)
            walk(clause.children, label)

    walk(parse_notice(path.read_text("utf-8")).clauses, "")
    return labels


WEIFANG = labels_of(ROOT / "fixtures" / "notices" / "weifang-marine-2024.txt")
COMMERCE = labels_of(FORMS / "commerce-measures.txt")
SHOUGUANG = labels_of(FORMS / "fullwidth-range.txt")


def paths(text):
    return [tuple((step.level, step.number) for step in ref.path) for ref in references_find(text)]


def cited(text, labels):
    return clauses_cited(text, {label: label for label in labels})


def test_the_fixture_labels_are_the_importers():
    assert WEIFANG[:5] == ["一", "二", "二(一)", "二(一)1", "二(一)2"]
    assert "二(五)3" in WEIFANG and "三(三)" in WEIFANG
    assert COMMERCE == [
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
    assert "一(二)3" in SHOUGUANG


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("建议修改第三条。", [(("article", 3),)]),
        ("第（二）项第3点表述不清", [(("paren", 2), ("arabic", 3))]),
        ("关于二(一)2的意见", [(("cn", 2), ("paren", 1), ("arabic", 2))]),
        ("二（一）2中的标准太高", [(("cn", 2), ("paren", 1), ("arabic", 2))]),
        ("第二部分第（一）项", [(("cn", 2), ("paren", 1))]),
        ("第三条第二款应当删除", [(("article", 3), ("paragraph", 2))]),
        ("建议将（三）中的内容细化", [(("paren", 3),)]),
        ("第２点写得不清楚", [(("arabic", 2),)]),
        ("第 3 点", [(("arabic", 3),)]),
        ("第(五)项", [(("paren", 5),)]),
        ("第三点", [(("item", 3),)]),
        ("第二章第一节", [(("chapter", 2), ("section", 1))]),
        ("第十二条", [(("article", 12),)]),
        ("第二十三条", [(("article", 23),)]),
        ("第三条款", [(("article", 3),)]),
        ("第二大部分", [(("cn", 2),)]),
        ("第二(一)2", [(("cn", 2), ("paren", 1), ("arabic", 2))]),
    ],
)
def test_a_citation_is_read_as_a_path_of_numbers_by_level(text, expected):
    assert paths(text) == expected


def test_lists_and_ranges_give_one_reference_each():
    assert paths("第一、二条") == [(("article", 1),), (("article", 2),)]
    assert paths("第三至五条") == [(("article", n),) for n in (3, 4, 5)]
    assert paths("第三条至第五条都涉及资金") == [(("article", n),) for n in (3, 4, 5)]
    assert paths("第1-3点") == [(("arabic", n),) for n in (1, 2, 3)]
    assert paths("建议（一）至（三）合并") == [(("paren", n),) for n in (1, 2, 3)]
    assert paths("第一、第二条") == [(("article", 1),), (("article", 2),)]


def test_a_path_goes_down_a_level_at_each_step():
    """Side by side at one level, or going back up, numbers are separate citations."""
    assert paths("建议（一）（二）合并") == [(("paren", 1),), (("paren", 2),)]
    assert paths("第（一）项第二部分") == [(("paren", 1),), (("cn", 2),)]
    assert paths("第三条第二款第（一）项") == [(("article", 3), ("paragraph", 2), ("paren", 1))]
    assert paths("第三条，该条第（二）项第三条" * 50)[-1] == (("article", 3),)


def test_a_long_list_is_read_whole():
    assert len(paths("第一、二、三、四、五、六、七、八、九、十、十一、十二条")) == 12


def test_a_list_going_on_at_a_lower_level_keeps_what_led_to_it():
    assert paths("第二部分第（一）项、第（三）项") == [
        (("cn", 2), ("paren", 1)),
        (("cn", 2), ("paren", 3)),
    ]
    assert paths("第二部分第（一）、（二）项") == [
        (("cn", 2), ("paren", 1)),
        (("cn", 2), ("paren", 2)),
    ]
    assert paths("第二部分和第三部分") == [(("cn", 2),), (("cn", 3),)]


def test_a_reference_relative_to_the_one_before():
    assert paths("第三条写得好，但该条第（二）项不现实。") == [
        (("article", 3),),
        (("article", 3), ("paren", 2)),
    ]
    assert paths("第二部分第（一）项，其中第2点") == [
        (("cn", 2), ("paren", 1)),
        (("cn", 2), ("paren", 1), ("arabic", 2)),
    ]
    assert paths("第二部分第（一）项，该部分第（三）项") == [
        (("cn", 2), ("paren", 1)),
        (("cn", 2), ("paren", 3)),
    ]


def test_spans_index_the_text_as_written():
    text = "我认为第（二）项第３点和二（一）2都要改。"
    references = references_find(text)
    assert [ref.text for ref in references] == ["第（二）项第３点", "二（一）2"]
    for ref in references:
        assert text[ref.start : ref.end] == ref.text
    relative = references_find("第三条，该条第二款")[-1]
    assert relative.text == "该条第二款"
    ranged = references_find("第三条至第五条")
    assert [ref.text for ref in ranged] == ["第三条", "第三条至第五条", "第三条至第五条"]


@pytest.mark.parametrize(
    "text",
    [
        # Ordinals that are no unit of a draft, in the corpus' own words.
        "市政协召开十二届常委会第十三次会议，围绕推动临港产业高质量发展建言。",
        "推动科研成果第一时间投产达效。",
        "在2023（第十四届）钢铁行业节能减碳论坛上，与会专家认为。",
        "全省55家钢铁企业全部达到环保绩效A级，数量全国第一。",
        "(上接第一版)构建全省零碳园区认定标准与认证体系;",
        "积极争取第二批启动疏解的北京区域性批发市场。",
        "营口拥有了除仙人岛经济开发区之外的第二家省级工业园区。",
        "政协第九届濮阳市委员会第二次会议期间",
        "2024年第3季度完成验收",
        "走出第三条路",
        "今天第一节课",
        # The citizen's own enumeration.
        "第一，加强宣传。第二，加大投入。",
        "我有两点建议：第一点，加强宣传；第二点，加大投入。",
        "一是要强化标准提升引领，二是要严格标准规范建设。",
        "（一）加强组织领导。建议成立专班。\n（二）强化要素保障。",
        "渊一冤 政策支撑不强遥 一是迫切需要更高层次的政策支持遥",
        "一、聚焦“标准”加强顶层设计，全面提升规范化建设。",
        # Numbers of other kinds.
        "根据《关于加快现代海洋特色产业集聚区建设的意见》(鲁政办字〔2024〕133号)部署要求",
        "参照潍政办字〔2024〕3号文件",
        "联系电话：0536-8192345，手机138 1234 5678",
        "占GDP比重超过21%，每年培育评选市级集聚区3个左右",
        "高三(一)班的家长",
        "“十四五”以来，全面贯彻党的二十大和二十届二中、三中全会精神",
        # Other texts' articles.
        "《中华人民共和国安全生产法》第三条已有规定。",
        "这与民法典第十条不符。",
        "",
    ],
)
def test_no_reference_is_found_in(text):
    assert references_find(text) == []


def test_the_draft_named_in_brackets_is_this_draft():
    assert paths("《潍坊市加快构建现代海洋特色产业集聚区工作方案（征求意见稿）》第三条") == [
        (("article", 3),)
    ]
    assert paths("本条例第三条") == [(("article", 3),)]


def test_a_single_point_opening_a_sentence_is_a_citation_without_a_series():
    assert paths("第三点，建议删除。") == [(("item", 3),)]
    assert paths("关于第3点，建议明确标准。") == [(("arabic", 3),)]


def test_the_corpus_holds_no_citations_of_a_draft():
    """Whole articles of policy prose — speeches, reports, a mis-decoded magazine — cite no
    clause, although they are full of 第…次, 第一, 一是 and （一） headings."""
    for path in sorted(CORPUS.glob("*.txt")):
        assert references_find(path.read_text("utf-8")) == [], path.name


def test_numerals():
    assert [numeral_value(t) for t in ("3", "十", "十二", "二十", "二十三", "一百零五")] == [
        3,
        10,
        12,
        20,
        23,
        105,
    ]
    assert numeral_value("两") == 2
    assert numeral_value("0") is None
    assert numeral_value("年") is None


def test_label_paths():
    assert label_path("二(一)1") == (Step("cn", 2), Step("paren", 1), Step("arabic", 1))
    assert label_path("第二章第一节") == (Step("chapter", 2), Step("section", 1))
    assert label_path("第十三条") == (Step("article", 13),)
    assert label_path("二（一）") == (Step("cn", 2), Step("paren", 1))
    assert label_path("附则") is None


# --- resolving --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第（二）项第3点表述不清", ["二(二)3"]),
        ("关于二(一)2的意见", ["二(一)2"]),
        ("第二部分第（一）项", ["二(一)"]),
        ("第三部分", ["三"]),
        ("第（五）项", ["二(五)"]),  # only the second part has five items
        ("第二部分第（五）项第３点", ["二(五)3"]),
        ("建议将二（三）4中的“省级”改为“市级”", ["二(三)4"]),
        # 条 in a draft without articles: its top-level items.
        ("第三条", ["三"]),
        ("第一、二条", ["一", "二"]),
        ("第二部分第（一）项、第（三）项", ["二(一)", "二(三)"]),
        ("第二部分第（一）项，其中第2点", ["二(一)", "二(一)2"]),
    ],
)
def test_references_resolve_to_weifang_clauses(text, expected):
    assert cited(text, WEIFANG) == expected


@pytest.mark.parametrize(
    "text",
    [
        "（三）中的措施",  # 二(三) or 三(三)
        "第（二）项",  # 二(二) or 三(二)
        "第3点",  # the third point of several items
        "第二部分第3点",  # 二(二)3, 二(三)3 …
        "第二项",  # 二, or the second item of either part
        "第（九）项",  # no such item
        "第二部分第（一）项第9点",  # 二(一) has items, but not a ninth
        "第七部分",
    ],
)
def test_ambiguous_or_missing_references_suggest_nothing(text):
    assert cited(text, WEIFANG) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第三条", ["第三条"]),
        ("第二章第三条", ["第三条"]),
        ("第三条第二款应当删除", ["第三条"]),
        ("第三至五条", ["第三条", "第四条", "第五条"]),
        ("第三条写得好，但该条第（二）项不现实。", ["第三条"]),
        ("第二章第一节", ["第二章第一节"]),
        ("第一节", ["第二章第一节"]),  # only the second chapter has sections
        ("第二章", ["第二章"]),
        ("第九条", []),
        ("第三部分", []),  # parts are no level of this draft
    ],
)
def test_references_resolve_to_articles(text, expected):
    assert cited(text, COMMERCE) == expected


def test_items_numbered_through_their_sections_resolve_alone():
    """Shouguang numbers its items 1–4 through both sections: 第3点 is one item."""
    assert cited("第3点的示范企业数量太少", SHOUGUANG) == ["一(二)3"]
    assert cited("第一部分第3点", SHOUGUANG) == ["一(二)3"]


def test_duplicate_labels_are_ambiguous():
    index = ClauseIndex([("二(一)", 1), ("二(一)", 2), ("三", 3)])
    assert references_resolve(references_find("二(一)和第三部分"), index) == {
        3: [references_find("二(一)和第三部分")[1]]
    }


def test_resolution_keeps_the_citations_of_each_clause_in_order():
    index = ClauseIndex({label: label for label in WEIFANG})
    found = references_resolve(references_find("第三部分很好。二(一)1不好，第三部分再议。"), index)
    assert list(found) == ["三", "二(一)1"]
    assert [ref.text for ref in found["三"]] == ["第三部分", "第三部分"]


def test_unreadable_labels_are_left_out():
    index = ClauseIndex({"附则": 1, "第三条": 2})
    assert index.resolve(Reference((Step(Level.ARTICLE, 3),), 0, 3, "第三条")) == 2


# --- properties -------------------------------------------------------------------------------

CITATION_PIECES = st.sampled_from(
    [
        "第三条",
        "第（二）项",
        "第3点",
        "二(一)2",
        "（三）",
        "该条",
        "其中",
        "第一、二条",
        "至",
        "、",
        "，",
        "。",
        "\n",
        "第",
        "(",
        "）",
        "2024年",
        "第一时间",
        "建议",
        "《法》",
        "十",
        "百",
        "３",
    ]
)


@given(st.lists(CITATION_PIECES | st.text(max_size=5), max_size=20).map("".join))
def test_reading_never_fails_and_spans_index_the_text(text):
    for ref in references_find(text):
        assert 0 <= ref.start < ref.end <= len(text)
        assert text[ref.start : ref.end] == ref.text
        assert 1 <= len(ref.path) <= 6
        assert all(step.number > 0 for step in ref.path)


@given(st.text(max_size=200))
def test_resolving_arbitrary_text_never_fails(text):
    result = cited(text, WEIFANG + COMMERCE)
    assert set(result) <= set(WEIFANG + COMMERCE)
    assert len(result) == len(set(result))


@given(st.sampled_from(WEIFANG))
def test_every_weifang_label_written_compactly_cites_itself_or_nothing(label):
    """二(一)1 written as in the draft names that clause; a bare 一 or 二 is no citation."""
    found = cited(f"关于{label}的意见", WEIFANG)
    assert found in ([label], [])
    if "(" in label:
        assert found == [label]
