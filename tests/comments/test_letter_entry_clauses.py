"""Recording a letter lists only the chosen consultation's clauses (issue 18, item 7)."""

import re

import pytest
from django.contrib.auth.models import User

from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.conftest import load_weifang
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db

ADD = "/admin/comments/comment/add/"


@pytest.fixture
def two_consultations(weifang_open):
    """Two consultations of the same bureau whose clauses carry the same labels."""
    return weifang_open, load_weifang(slug="weifang-second", departments=False)


@pytest.fixture
def coordinator(client, two_consultations):
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    client.force_login(user)
    return user


def clause_options(page: str) -> list[str]:
    select = re.search(r'<select name="clause".*?</select>', page, re.S).group()
    return re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', select)


def test_the_chosen_consultations_clauses_only(client, two_consultations, coordinator):
    first, second = two_consultations
    page = client.get(ADD, {"consultation": second.pk}).content.decode()
    options = clause_options(page)
    assert options.count("一 总体要求") == 1
    assert len(options) == second.clauses.count()
    select = re.search(r'<select name="clause".*?</select>', page, re.S).group()
    assert f'value="{first.clauses.get(label="一").pk}"' not in select
    assert f'data-consultation="{second.pk}"' in select


def test_a_letter_refused_for_another_field_keeps_to_its_consultations_clauses(
    client, two_consultations, coordinator
):
    first, _second = two_consultations
    response = client.post(
        ADD, {"consultation": first.pk, "channel": "letter", "body": "", "received_on": ""}
    )
    assert response.status_code == 200
    options = clause_options(response.content.decode())
    assert options.count("一 总体要求") == 1 and len(options) == first.clauses.count()


def test_before_a_consultation_is_chosen_each_lists_its_clauses_under_its_title(
    client, two_consultations, coordinator
):
    first, second = two_consultations
    page = client.get(ADD).content.decode()
    select = re.search(r'<select name="clause".*?</select>', page, re.S).group()
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    assert [label for label, _options in groups] == [first.title, second.title]
    for consultation, (_label, options) in zip((first, second), groups, strict=True):
        assert options.count(">一 总体要求<") == 1
        assert set(re.findall(r'data-consultation="(\d+)"', options)) == {str(consultation.pk)}
    assert "consult/letter_entry.js" in page


def test_a_bureau_with_one_consultation_sees_its_clauses_at_once(client, weifang_open):
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    client.force_login(user)
    options = clause_options(client.get(ADD).content.decode())
    assert options.count("一 总体要求") == 1 and len(options) == weifang_open.clauses.count()


def test_after_a_second_draft_only_its_clauses_are_offered(client, weifang_open):
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    client.force_login(user)
    first = weifang_open.current_revision
    second = weifang_second_draft(weifang_open)
    page = client.get(ADD, {"consultation": weifang_open.pk}).content.decode()
    select = re.search(r'<select name="clause".*?</select>', page, re.S).group()
    offered = {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}
    assert offered == set(second.clauses.values_list("pk", flat=True))
    assert not offered & set(first.clauses.values_list("pk", flat=True))
    # Posting an earlier revision's clause anyway is "not one of the choices".
    old = first.clauses.get(label="一")
    response = client.post(
        ADD,
        {"consultation": weifang_open.pk, "clause": old.pk, "channel": "letter", "body": "意见"},
    )
    assert response.status_code == 200
    assert "clause" in response.context["adminform"].form.errors
