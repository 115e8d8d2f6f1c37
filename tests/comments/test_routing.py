"""The routing rule on plain data: who receives a comment and who answers it."""

from consult.comments.routing import ClauseNode, Role, Route, routes_decide

ISSUER = "市海渔局"


def test_comment_on_the_whole_draft_goes_to_the_issuer_who_coordinates():
    assert routes_decide(None, issuer=ISSUER) == [Route(ISSUER, Role.COORDINATOR, True)]


def test_first_lead_owns_and_cooperating_departments_follow_in_document_order():
    clause = ClauseNode(lead=("市发改委",), cooperating=("市科技局", "市工信局"))
    assert routes_decide(clause, issuer=ISSUER) == [
        Route("市发改委", Role.LEAD, True),
        Route("市科技局", Role.COOPERATING, False),
        Route("市工信局", Role.COOPERATING, False),
    ]


def test_second_lead_is_a_lead_but_not_the_owner():
    clause = ClauseNode(lead=("市发改委", "市海渔局"), cooperating=("市财政局",))
    routes = routes_decide(clause, issuer=ISSUER)
    assert [(r.department, r.role, r.is_owner) for r in routes] == [
        ("市发改委", Role.LEAD, True),
        ("市海渔局", Role.LEAD, False),
        ("市财政局", Role.COOPERATING, False),
    ]


def test_clause_without_a_lead_is_coordinated_by_the_issuer_and_all_listed_cooperate():
    clause = ClauseNode(cooperating=("市发改委", "市商务局"))
    assert routes_decide(clause, issuer=ISSUER) == [
        Route(ISSUER, Role.COORDINATOR, True),
        Route("市发改委", Role.COOPERATING, False),
        Route("市商务局", Role.COOPERATING, False),
    ]


def test_issuer_listed_without_a_lead_is_routed_once_as_coordinator():
    clause = ClauseNode(cooperating=("市发改委", ISSUER))
    routes = routes_decide(clause, issuer=ISSUER)
    assert [r.department for r in routes] == [ISSUER, "市发改委"]
    assert routes[0].role == Role.COORDINATOR


def test_clause_naming_nobody_takes_the_leads_of_the_clauses_below_it():
    section = ClauseNode(
        children=(
            ClauseNode(lead=("市发改委",), cooperating=("市科技局",)),
            ClauseNode(lead=("市科技局",), cooperating=("市发改委",)),
            ClauseNode(children=(ClauseNode(lead=("市委组织部",)),)),
        )
    )
    routes = routes_decide(section, issuer=ISSUER)
    assert routes == [
        Route("市发改委", Role.LEAD, True),
        Route("市科技局", Role.LEAD, False),
        Route("市委组织部", Role.LEAD, False),
    ]


def test_clause_naming_nobody_with_no_leads_below_goes_to_the_issuer():
    part = ClauseNode(children=(ClauseNode(), ClauseNode(cooperating=("市发改委",))))
    assert routes_decide(part, issuer=ISSUER) == [Route(ISSUER, Role.COORDINATOR, True)]


def test_a_department_listed_as_lead_and_cooperating_is_routed_once_as_lead():
    clause = ClauseNode(lead=("市发改委",), cooperating=("市发改委", "市财政局"))
    routes = routes_decide(clause, issuer=ISSUER)
    assert [(r.department, r.role) for r in routes] == [
        ("市发改委", Role.LEAD),
        ("市财政局", Role.COOPERATING),
    ]


def test_exactly_one_owner_whatever_the_clause():
    shapes = [
        None,
        ClauseNode(lead=("a", "b")),
        ClauseNode(cooperating=("a",)),
        ClauseNode(children=(ClauseNode(lead=("a",)),)),
        ClauseNode(),
    ]
    for shape in shapes:
        assert sum(r.is_owner for r in routes_decide(shape, issuer=ISSUER)) == 1
