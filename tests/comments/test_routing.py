"""The routing rule on plain data: who receives a comment and who answers it."""

from consult.comments.routing import ClauseNode, HeadingOwner, Role, Route, routes_decide

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


SECTION = ClauseNode(
    children=(
        ClauseNode(lead=("市发改委",), cooperating=("市科技局",)),
        ClauseNode(lead=("市科技局",), cooperating=("市发改委",)),
        ClauseNode(children=(ClauseNode(lead=("市委组织部",)),)),
    )
)


def test_a_heading_is_answered_by_the_issuer_and_the_leads_below_it_cooperate():
    assert routes_decide(SECTION, issuer=ISSUER) == [
        Route(ISSUER, Role.COORDINATOR, True),
        Route("市发改委", Role.COOPERATING, False),
        Route("市科技局", Role.COOPERATING, False),
        Route("市委组织部", Role.COOPERATING, False),
    ]


def test_a_heading_can_be_answered_by_the_first_lead_below_it_the_others_cooperate():
    routes = routes_decide(SECTION, issuer=ISSUER, heading_owner=HeadingOwner.FIRST_LEAD)
    assert routes == [
        Route("市发改委", Role.LEAD, True),
        Route("市科技局", Role.COOPERATING, False),
        Route("市委组织部", Role.COOPERATING, False),
    ]


def test_a_heading_whose_leads_below_include_the_issuer_routes_the_issuer_once():
    section = ClauseNode(children=(ClauseNode(lead=("市发改委", ISSUER)),))
    assert routes_decide(section, issuer=ISSUER) == [
        Route(ISSUER, Role.COORDINATOR, True),
        Route("市发改委", Role.COOPERATING, False),
    ]


def test_only_the_answering_department_of_a_heading_is_shown_as_lead():
    for owner in HeadingOwner:
        routes = routes_decide(SECTION, issuer=ISSUER, heading_owner=owner)
        assert [r.is_owner for r in routes] == [True, False, False, False][: len(routes)]
        assert all(r.role == Role.COOPERATING for r in routes[1:])


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
        ClauseNode(children=(ClauseNode(lead=("a", "b")), ClauseNode(lead=("c",)))),
        ClauseNode(),
    ]
    for shape in shapes:
        for owner in HeadingOwner:
            routes = routes_decide(shape, issuer=ISSUER, heading_owner=owner)
            assert sum(r.is_owner for r in routes) == 1
