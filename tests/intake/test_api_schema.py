"""Schemathesis against the API in-process: every operation, then comment → status scenarios.

The document is the one /api/schema/ serves. Each generated request (valid and invalid by the
schema) goes through Django's WSGI handler, as gunicorn would send it; the checks: never a 5xx,
every status code documented, every body and content type as documented, and invalid input
refused. Not checked: that input valid by the schema is accepted (positive_data_acceptance):
the comment rules go beyond what JSON Schema says (an organisation's name when `kind` is one, a
phone number's shape, a clause of this consultation), so a documented 400 is a right answer.

Bounded to run in well under a minute on two cores (see EXAMPLES), as CI runs it every time.
"""

import json
import os

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.specs.openapi import checks as openapi_checks

pytestmark = pytest.mark.django_db

# Generated requests per operation and phase, and stateful runs: about 10 s in all here (twice
# that on a loaded machine). CONSULT_FUZZ_EXAMPLES=1000 makes a longer hunt of the same tests.
EXAMPLES = int(os.environ.get("CONSULT_FUZZ_EXAMPLES", "40"))
STATEFUL_EXAMPLES = max(EXAMPLES // 3, 10)

EXCLUDED_CHECKS = [
    # See the module's docstring.
    openapi_checks.positive_data_acceptance,
    # cookieAuth is the optional staff session DRF offers every view; no operation needs it.
    openapi_checks.ignored_auth,
]

# drf-spectacular cannot declare OpenAPI links; the scenario the document implies is added here:
# a stored comment's status, looked up with the number its receipt gives and the email it sent.
LINKS = {
    "/api/consultations/{slug}/comments/": {
        "post": {
            "201": {
                "StatusByEmail": {
                    "operationId": "comments_status_retrieve",
                    "parameters": {
                        "tracking_number": "$response.body#/tracking_number",
                        "email": "$request.body#/email",
                    },
                },
                "StatusLookup": {
                    "operationId": "comments_status_create",
                    "requestBody": {
                        "tracking_number": "$response.body#/tracking_number",
                        "proof": "$request.body#/email",
                    },
                },
            }
        }
    }
}


@pytest.fixture(autouse=True)
def _connection_kept():
    """Django's WSGI handler closes the database connection at each request's end; that would
    end the transaction each test runs in (Django's test client keeps it open the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzzing_settings(settings):
    # Fuzzing sends hundreds of requests a minute from one address: under the real limits almost
    # every answer would be a 429 and the handlers behind the limits would go untested. The 429s
    # themselves are documented, and tests/intake/test_api.py checks they are given.
    settings.COMMENT_RATE_LIMITS_PER_IP = ["100000/m"]
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["100000/m"]
    settings.STATUS_LOOKUP_RATE_LIMITS = ["100000/m"]
    return settings


def openapi_document(*, links: bool) -> dict:
    """The document /api/schema/ serves (built the same way, without a request: this runs when
    the module is collected, where the database is out of reach)."""
    document = json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )
    if links:
        for path, methods in LINKS.items():
            for method, by_status in methods.items():
                for code, named in by_status.items():
                    document["paths"][path][method]["responses"][code]["links"] = named
    return document


def loaded(document: dict):
    schema = schemathesis.openapi.from_dict(document)
    schema.app = WSGIHandler()
    return schema


def aim_at(case, consultation):
    if "slug" in (case.path_parameters or {}) and case.method == "POST":
        # Submissions go to the open consultation (GET /api/consultations/{slug}/ takes any).
        case.path_parameters["slug"] = consultation.slug


schema = loaded(openapi_document(links=False))


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case, fuzzing_settings, weifang_open):
    aim_at(case, weifang_open)
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)


# In the scenarios the submissions are valid, so that the links have a comment to follow (the
# stateless test above sends the invalid ones): generated names and choices on a valid core.
VALID_CORE = {
    "clause": None,
    "body": "建议在第1项中明确集聚区的评价指标，并公开评选结果。",
    "kind": "individual",
    "email": "office@example.org",
    "consent": True,
}


def test_comment_then_status_scenarios(fuzzing_settings, weifang_open):
    machine = loaded(openapi_document(links=True)).as_state_machine()
    answers = []

    class Scenarios(machine):
        """Each scenario starts from the same database and cache: what the server answers, and so
        what Hypothesis draws from its answers, depends only on the scenario's own steps."""

        def __init__(self):
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            cache.clear()
            super().teardown()

        def before_call(self, case):
            aim_at(case, weifang_open)
            if case.operation.path == "/api/consultations/{slug}/comments/" and isinstance(
                case.body, dict
            ):
                case.body = {**case.body, **VALID_CORE}
                case.body.pop("phone", None)
                case.body.pop("organisation", None)

        def after_call(self, response, case):
            super().after_call(response, case)
            answers.append((case.method, case.operation.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, excluded_checks=EXCLUDED_CHECKS, transport_kwargs=kwargs or None
            )

    # As Schemathesis's own runner does: when a replayed scenario draws differently from the first
    # time (FlakyStrategyDefinition: an answer it drew from differed, a new tracking number say),
    # a fresh session goes on. Any other failure fails the test.
    for attempt in range(3):
        try:
            run_state_machine_as_test(
                Scenarios,
                settings=hypothesis.settings(
                    max_examples=STATEFUL_EXAMPLES,
                    stateful_step_count=6,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                ),
            )
        except FlakyStrategyDefinition:
            if attempt == 2:
                raise
        else:
            break
    # The scenarios did what they are for: comments stored, and their status found by the links.
    codes = {(path, code) for method, path, code in answers}
    assert ("/api/consultations/{slug}/comments/", 201) in codes, sorted(codes)
    assert {("/api/comments/{tracking_number}/status", 200), ("/api/comments/status/", 200)} & (
        codes
    ), sorted(codes)
