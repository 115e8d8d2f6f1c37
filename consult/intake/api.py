"""The REST API for organisations: read consultations, submit comments, look up their status.

Submissions go through the web page's CommentForm (as ApiCommentForm, without the page's own
fields) and comment_submit; this module only maps HTTP and JSON onto them.
"""

import io
import re
import unicodedata
from itertools import accumulate

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from consult.comments.lookup import comment_lookup
from consult.comments.models import Comment, CommentRouting
from consult.comments.privacy import comment_texts_found_by_proof
from consult.comments.publication import (
    comment_as_published,
    comments_published,
    publication_for_submitter,
)
from consult.comments.revision_outcomes import comment_outcomes
from consult.comments.services import CommentPeriodClosed, SubmissionLimited, comment_submit
from consult.comments.validation import (
    BODY_MAX_LENGTH,
    BODY_MIN_LENGTH,
    PHONE_TYPED_MAX_LENGTH,
    clean_text,
    displayable,
)
from consult.consultations.models import Clause, Consultation, consultation_without_texts
from consult.querystring import is_number

from .caching import shared_with_anonymous_visitors
from .forms import ApiCommentForm
from .limits import (
    client_ip,
    status_lookup_limited,
    submission_limited,
)
from .presenters import clause_tree_with_tallies

STRING_FIELDS = ("body", "name", "kind", "organisation", "phone", "email")
BOOLEAN_FIELDS = ("consent", "publish_consent", "wants_reply", "notify_on_report")
SUBMISSION_FIELDS = frozenset(("clause", *STRING_FIELDS, *BOOLEAN_FIELDS))
STATUS_LOOKUP_FIELDS = ("tracking_number", "proof")
# The longest text each field takes, as sent (before trimming): the OpenAPI document declares
# the same limits. The form enforces them too (the body after trimming, in clean_body).
MAX_LENGTHS = {
    "body": BODY_MAX_LENGTH,
    "name": 100,
    "organisation": 200,
    "phone": PHONE_TYPED_MAX_LENGTH,
    "email": 254,
    "tracking_number": 20,
    "proof": 254,
}
IDEMPOTENCY_KEY_MAX_LENGTH = 200
# Clause ids are database keys: positive 64-bit integers.
CLAUSE_ID_MAX = 2**63 - 1

# Far more than a submission needs (its body is one object of plain values).
MAX_JSON_DEPTH = 32
# The largest request body the API reads. A submission at every limit, each character sent as a
# \uXXXX escape pair (12 bytes), is about 65 KiB; four times that leaves room for any client's
# spelling. Larger bodies are refused before they are read: parsing 10 MB of "[]" took 1.3 s.
MAX_JSON_BODY_BYTES = 256 * 1024
# A JSON string, its closing quote optional (the text may be cut short): brackets inside it are
# not nesting. Where the text stops being JSON, json.loads stops too, so what follows is moot.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_BRACKET_STEPS = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deep the JSON text nests arrays and objects, found without parsing it."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEPS.__getitem__, brackets)), default=0)


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def _too_large():
    return RequestBodyTooLarge(
        _("请求体过大（最多 %(limit)d 字节）。") % {"limit": MAX_JSON_BODY_BYTES}
    )


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"


def body_length_check(request) -> None:
    """A body sent in chunks, without a Content-Length, reaches Django empty (WSGI gives it no
    length to read): refused as such, not answered with every field "missing"."""
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not (
        request.META.get("CONTENT_LENGTH")
    ):
        raise LengthRequired(_("请求须带 Content-Length 头：不接受分块传输的请求体。"))


def _declared_length(parser_context) -> int | None:
    request = (parser_context or {}).get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except (AttributeError, TypeError, ValueError):
        return None


class BoundedJSONParser(JSONParser):
    """JSON, refused before it is parsed when it is too large (413) or nested too deep (400).

    json.loads recurses once per level: a thousand levels raise RecursionError, a 500. And DRF
    reads a body of any size: the size is checked on the Content-Length header, and again on
    what is read (never more than one byte past the limit), before any parsing.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        declared = _declared_length(parser_context)
        if declared is not None and declared > MAX_JSON_BODY_BYTES:
            raise _too_large()
        raw = stream.read(MAX_JSON_BODY_BYTES + 1)
        if len(raw) > MAX_JSON_BODY_BYTES:
            raise _too_large()
        encoding = get_encoding(parser_context or {})
        try:
            text = raw.decode(encoding)
        except (UnicodeError, LookupError) as error:
            raise _not_json(error) from error
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(
                _("请求体的 JSON 嵌套层数过多（最多 %(limit)d 层）。") % {"limit": MAX_JSON_DEPTH}
            )
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as error:
            # DRF's message is English whatever language the client asked for.
            raise _not_json(error.__context__ or error.detail) from error


def _not_json(error) -> ParseError:
    """The body is not JSON: said in the client's language, with the decoder's own words on
    where (line and column)."""
    return ParseError(_("请求体不是有效的 JSON：%(error)s") % {"error": error})


# The bodies of error responses, as the OpenAPI document describes them ---------------------

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each field refused, with its messages; `non_field_errors` for the whole.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "minProperties": 1,
}
# A 400 either names the fields (the values were read) or says why the body could not be read.
BAD_REQUEST = {"oneOf": [FIELD_ERRORS, DETAIL]}


def _error(description, schema=DETAIL):
    return OpenApiResponse(response=schema, description=description)


NOT_FOUND_CONSULTATION = _error("No consultation has this slug.")
TOO_LARGE = _error(f"The request body is larger than {MAX_JSON_BODY_BYTES} bytes.")
UNSUPPORTED_MEDIA_TYPE = _error("The request body is not `application/json`.")
LENGTH_REQUIRED = _error("The request body was sent in chunks, without a `Content-Length`.")
SLUG = OpenApiParameter(
    "slug",
    {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "maxLength": 100},
    location=OpenApiParameter.PATH,
    required=True,
    description="The consultation's slug, as in its page's address.",
)


class ConsultationSummarySerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="issuer.full_name")
    is_open = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Consultation.Status.choices)
    url = serializers.SerializerMethodField()
    real_names_required = serializers.BooleanField(
        help_text="A comment must give `name` (400 naming it otherwise)."
    )

    class Meta:
        model = Consultation
        fields = [
            "slug",
            "title",
            "issuer",
            "reference_number",
            "published_on",
            "opens_at",
            "closes_at",
            "is_open",
            "status",
            "url",
            "real_names_required",
        ]

    def get_url(self, consultation) -> str:
        return self.context["request"].build_absolute_uri(consultation.get_absolute_url())


def clause_dict(clause) -> dict:
    return {
        "id": clause.pk,
        "number": clause.number,
        "label": clause.label,
        "heading": clause.heading,
        "text": clause.text,
        "lead": clause.lead_names,
        "cooperating": clause.cooperating_names,
        "comment_count": clause.comment_count,
        "published_comment_count": clause.published_count,
        "children": [clause_dict(child) for child in clause.subclauses],
    }


class ClauseSerializer(serializers.Serializer):
    """A clause of the draft, its subclauses nested the same way (for the OpenAPI document)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    label = serializers.CharField()
    heading = serializers.CharField()
    text = serializers.CharField()
    lead = serializers.ListField(child=serializers.CharField())
    cooperating = serializers.ListField(child=serializers.CharField())
    comment_count = serializers.IntegerField()
    published_comment_count = serializers.IntegerField(
        help_text="Comments on this clause published with their submitters' consent."
    )


# Subclauses, each a clause: the schema's `children` refer to `Clause` itself.
ClauseSerializer._declared_fields["children"] = ClauseSerializer(
    many=True, help_text="Subclauses, each shaped like this clause."
)


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(
        help_text="The bureau's contact telephone, as its notice gives it."
    )
    email = serializers.CharField()


class ConsultationDetailSerializer(ConsultationSummarySerializer):
    """The consultation with its contact and clause tree (for the OpenAPI document)."""

    contact = ContactSerializer()
    comment_count = serializers.IntegerField()
    published_comment_count = serializers.IntegerField(
        help_text="Comments published with their submitters' consent, on every clause."
    )
    clauses = ClauseSerializer(many=True)

    class Meta(ConsultationSummarySerializer.Meta):
        fields = [
            *ConsultationSummarySerializer.Meta.fields,
            "contact",
            "comment_count",
            "published_comment_count",
            "clauses",
        ]


class RouteSerializer(serializers.Serializer):
    department = serializers.CharField()
    role = serializers.ChoiceField(choices=CommentRouting.Role.choices)


class CommentReceiptSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    clause = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField()
    routed_to = RouteSerializer(many=True)
    repeat = serializers.BooleanField(
        help_text="True when this answers a retry: nothing new was stored."
    )


class PeriodClosedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()


class CommentSubmissionSerializer(serializers.Serializer):
    """The request body of a submission, with the limits the form enforces."""

    clause = serializers.IntegerField(
        allow_null=True,
        required=False,
        min_value=1,
        max_value=CLAUSE_ID_MAX,
        help_text="A clause id of this consultation; null or absent: the whole draft.",
    )
    body = serializers.CharField(
        min_length=BODY_MIN_LENGTH,
        max_length=MAX_LENGTHS["body"],
        help_text=(
            f"{BODY_MIN_LENGTH} to {BODY_MAX_LENGTH} characters after trimming, at least "
            f"{BODY_MIN_LENGTH} of them visible (spaces, zero-width and bidirectional control "
            "characters are not counted)."
        ),
    )
    name = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=MAX_LENGTHS["name"],
        help_text="Required where the consultation's `real_names_required` is true.",
    )
    kind = serializers.ChoiceField(
        choices=Comment.Kind.choices, required=False, allow_null=True, default="individual"
    )
    organisation = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=MAX_LENGTHS["organisation"],
        help_text="Required when `kind` is company or organisation.",
    )
    phone = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=MAX_LENGTHS["phone"]
    )
    email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, max_length=MAX_LENGTHS["email"]
    )
    wants_reply = serializers.BooleanField(required=False, allow_null=True)
    notify_on_report = serializers.BooleanField(required=False, allow_null=True)
    consent = serializers.BooleanField(
        help_text="Must be true: consent to processing the comment and the personal data."
    )
    publish_consent = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=False,
        help_text=(
            "Optional, false when absent: the submitter agrees that the comment be published on "
            "the site once the issuing bureau has reviewed it. Published: the text (phone "
            "numbers, email addresses, ID numbers and the submitter's name in it masked), the "
            "date, the kind of submitter and, once the adoption report is published, the "
            "answer. Never published: the name, organisation, phone, email, attachment and "
            "tracking number."
        ),
    )


class StatusLookupSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=MAX_LENGTHS["tracking_number"])
    proof = serializers.CharField(
        max_length=MAX_LENGTHS["proof"],
        help_text="The last four digits of the phone, or the email given with the comment.",
    )


class ClauseOutcomeSerializer(serializers.Serializer):
    """Where the comment's clause went in one later published revision of the draft."""

    revision = serializers.IntegerField(help_text="The revision's number (1 is the first draft).")
    revision_display = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["kept", "reworded", "renumbered", "split", "merged", "dropped"],
        help_text=(
            "kept: unchanged; reworded: its text changed; renumbered: it moved; split: it became "
            "several clauses; merged: it was joined with others into one; dropped: it was removed."
        ),
    )
    kind_display = serializers.CharField()
    from_clause = serializers.IntegerField(help_text="The clause in the revision before.")
    to_clauses = serializers.ListField(
        child=serializers.IntegerField(), help_text="Where it went; empty when dropped."
    )
    to_labels = serializers.ListField(child=serializers.CharField())
    changes_url = serializers.CharField(
        help_text="The public page comparing the two revisions, at this clause."
    )


class CommentStatusSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    consultation = serializers.CharField(help_text="The consultation's slug.")
    clause = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Comment.Status.choices)
    status_display = serializers.CharField()
    decision = serializers.ChoiceField(choices=Comment.Decision.choices, allow_null=True)
    decision_display = serializers.CharField(allow_null=True)
    decision_reason = serializers.CharField(
        allow_null=True,
        help_text=(
            "Why the comment was adopted in part or not adopted, as the status page says, with "
            "phone numbers, emails, ID numbers and the submitter's name masked."
        ),
    )
    reply = serializers.CharField(
        allow_null=True,
        help_text="The answer, with personal data masked as in `decision_reason`.",
    )
    replied_at = serializers.DateTimeField(allow_null=True)
    publication = serializers.ChoiceField(
        choices=["private", "awaiting", "published", "withheld"],
        help_text=(
            "private: the submitter did not agree to publication; awaiting: the issuing bureau "
            "has yet to review it; published: shown on the public list; withheld: the bureau "
            "decided not to publish it (or it was marked invalid)."
        ),
    )
    publication_display = serializers.CharField()
    clause_outcomes = ClauseOutcomeSerializer(
        many=True,
        help_text="Once a later revision of the draft is published: what became of the clause.",
    )


class PublishedAnswerSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Comment.Decision.choices, allow_null=True)
    decision_display = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    reply = serializers.CharField()
    replied_at = serializers.DateTimeField(allow_null=True)


class PublishedCommentSerializer(serializers.Serializer):
    number = serializers.IntegerField(
        help_text="The comment's public number (not its tracking number)."
    )
    clause = serializers.IntegerField(allow_null=True, help_text="null: the whole draft.")
    clause_label = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    submitter_kind = serializers.ChoiceField(
        choices=Comment.Kind.values,
        help_text="The kind of submitter; never a name. `other` for any kind not listed.",
    )
    submitter_kind_display = serializers.CharField(
        help_text="The kind as the public lists show it (公众, 企业, 社会组织 or 其他)."
    )
    body = serializers.CharField(help_text="Phone numbers, emails and ID numbers masked.")
    answer = PublishedAnswerSerializer(
        allow_null=True, help_text="Shown once the consultation's adoption report is published."
    )
    unanswered_in_report = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The number of the draft whose published adoption report left this comment "
            "unanswered (its reason is in that report); null while no report is out, or once "
            "the comment is answered."
        ),
    )


class PublishedCommentsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = PublishedCommentSerializer(many=True)


# The 429's body and header: how many seconds to wait, from the rate-limit check just made.
TOO_MANY = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "retry_after": {
            "type": "integer",
            "description": "Seconds until the exceeded limit's window ends; also sent as the "
            "`Retry-After` header.",
        },
    },
    "required": ["detail", "retry_after"],
}


def _too_many(wait: int, *, looking_up: bool = False):
    if looking_up:
        detail = ngettext(
            "查询过于频繁，请在 %(seconds)d 秒后再试。",
            "查询过于频繁，请在 %(seconds)d 秒后再试。",
            wait,
        )
    else:
        detail = ngettext(
            "提交过于频繁，请在 %(seconds)d 秒后再试。",
            "提交过于频繁，请在 %(seconds)d 秒后再试。",
            wait,
        )
    response = Response(
        {
            "detail": detail % {"seconds": wait},
            "retry_after": wait,
        },
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = str(wait)
    return response


@shared_with_anonymous_visitors
@extend_schema(responses=ConsultationSummarySerializer(many=True))
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])
def consultation_list(request):
    consultations = Consultation.objects.select_related("issuer").order_by("-opens_at")
    return Response(
        ConsultationSummarySerializer(consultations, many=True, context={"request": request}).data
    )


@shared_with_anonymous_visitors
@extend_schema(
    parameters=[SLUG],
    responses={200: ConsultationDetailSerializer, 404: NOT_FOUND_CONSULTATION},
)
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])
def consultation_detail(request, slug):
    consultation = _found(Consultation.objects.select_related("issuer"), slug=slug)
    tree, tallies = clause_tree_with_tallies(consultation)
    data = ConsultationSummarySerializer(consultation, context={"request": request}).data
    data["contact"] = {
        "name": consultation.contact_name,
        # The bureau's published contact, as the notice gives it: masking is for citizens' data.
        "phone": consultation.contact_phone,
        "email": consultation.contact_email,
    }
    data["comment_count"] = tallies.total
    data["published_comment_count"] = tallies.published_total
    data["clauses"] = [clause_dict(clause) for clause in tree]
    return Response(data)


IDEMPOTENCY_HEADER = "Idempotency-Key"
COMMENT_CREATE_DESCRIPTION = """Submit a comment. Every request stores a comment (201), unless it \
is a retry.

Retries: send an `Idempotency-Key` header with a value of your own, unique to the comment (a \
random UUID), and send it unchanged when you retry. A request with a key already used in the \
last ten minutes, for the same consultation and clause with every field the same (the text, \
`name`, `kind`, `organisation`, `phone`, `email`, `wants_reply`, `publish_consent` and \
`notify_on_report`), stores nothing and is answered with the first response's receipt: 200, \
the same `tracking_number`, `repeat` true. Anything else is a new comment (201), with or \
without a key: the same text from another key, or without one, is stored, however alike. Keys \
are kept, hashed, for ten minutes; they are matched exactly and scoped to nothing else, so never \
reuse one for a different comment or share it between clients. A retry answered with the first \
receipt is answered so even after the comment period has closed, and is not counted against \
the rate limits; any other request is.

A field this schema does not name is refused (400, naming it) rather than ignored: a misspelt \
`phone` or `publish_consent` would otherwise be dropped without a word."""


def _idempotency_key(request) -> str:
    return request.headers.get(IDEMPOTENCY_HEADER, "").strip()


def _idempotency_scope(request) -> str:
    """The repeat scope of an API request: its Idempotency-Key, or none."""
    key = _idempotency_key(request)
    return f"idempotency-key:{key}" if key else ""


def _too_long(limit: int) -> list:
    return [_("最多 %(limit)d 个字符。") % {"limit": limit}]


def _type_errors(payload) -> dict:
    """JSON values of the wrong type or over the declared length, named per field.

    The form would coerce other types silently; the lengths are those of the OpenAPI document,
    on the text as sent.
    """
    errors = {}
    for name in STRING_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = [_("应为字符串。")]
        elif value is not None and name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            errors[name] = _too_long(MAX_LENGTHS[name])
    for name in BOOLEAN_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, bool):
            errors[name] = [_("应为 true 或 false。")]
    clause = payload.get("clause")
    if clause is not None and (
        isinstance(clause, bool) or not isinstance(clause, int) or not 1 <= clause <= CLAUSE_ID_MAX
    ):
        errors["clause"] = [_("应为条款编号（正整数）或 null。")]
    return errors


SUBMISSION_EXAMPLE = OpenApiExample(
    "An organisation's comment on one clause",
    value={
        "clause": 12,
        "body": "建议在第1项中明确集聚区的评价指标，并公开评选结果。",
        "name": "王某",
        "kind": "organisation",
        "organisation": "潍坊市某某渔业协会",
        "phone": "13812345678",
        "email": "office@example.org",
        "wants_reply": True,
        "notify_on_report": False,
        "consent": True,
        "publish_consent": True,
    },
    request_only=True,
)


# The receipt's tracking number is the submitter's alone: no cache keeps it.
@never_cache
@extend_schema(
    request=CommentSubmissionSerializer,
    examples=[SUBMISSION_EXAMPLE],
    responses={
        201: CommentReceiptSerializer,
        200: OpenApiResponse(
            response=CommentReceiptSerializer,
            description=(
                "A retry with the Idempotency-Key of a comment sent in the last ten minutes: "
                "the first response's receipt (the same tracking number), `repeat` true."
            ),
        ),
        400: _error(
            "The fields refused, each with its messages; or `detail` when the body is not "
            "readable JSON (malformed, nested too deep).",
            BAD_REQUEST,
        ),
        404: NOT_FOUND_CONSULTATION,
        409: _error("Outside the comment period.", PeriodClosedSerializer),
        411: LENGTH_REQUIRED,
        413: TOO_LARGE,
        415: UNSUPPORTED_MEDIA_TYPE,
        429: _error(
            "Too many submissions: `retry_after` (and the `Retry-After` header) says how many "
            "seconds to wait.",
            TOO_MANY,
        ),
    },
    parameters=[
        SLUG,
        OpenApiParameter(
            IDEMPOTENCY_HEADER,
            {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
            location=OpenApiParameter.HEADER,
            required=False,
            description=(
                "A value unique to this comment (a random UUID), sent again unchanged when the "
                "request is retried."
            ),
        ),
    ],
    description=COMMENT_CREATE_DESCRIPTION,
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([BoundedJSONParser])
def comment_create(request, slug):
    now = timezone.now()
    consultation = consultation_without_texts(slug)
    if consultation is None:
        raise NotFound(_("未找到。"))
    # The period and the rate limit are comment_submit's to check, after it has looked for a
    # repeat: a retry of a comment stored before the close or the limit gets its receipt.
    # A request refused for what it sends gets the 409 once the period is over: correcting it
    # would not help.
    try:
        errors = _submission_errors(request)
    except APIException:
        if consultation.accepts_comments_at(now):
            raise
        return _period_closed(consultation)
    form = None
    if not errors:
        data = {key: value for key, value in request.data.items() if value is not None}
        data.setdefault("kind", Comment.Kind.INDIVIDUAL)
        form = ApiCommentForm(data=data, consultation=consultation)
        errors = {} if form.is_valid() else _form_errors(form)
    if errors:
        if not consultation.accepts_comments_at(now):
            return _period_closed(consultation)
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    submission_data = form.submission()
    try:
        submission = comment_submit(
            **submission_data,
            channel=Comment.Channel.API,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            repeat_scope=_idempotency_scope(request),
            rate_limit=lambda: submission_limited(
                request, phone=submission_data["phone"], email=submission_data["email"]
            ),
            now=now,
        )
    except CommentPeriodClosed:
        return _period_closed(consultation)
    except SubmissionLimited as limited:
        return _too_many(limited.wait)
    except ValidationError as error:
        return Response(error.message_dict, status=status.HTTP_400_BAD_REQUEST)
    comment = submission.comment
    return Response(
        {
            "tracking_number": comment.tracking_number,
            "clause": comment.clause_id,
            "submitted_at": _moment(comment.submitted_at),
            "routed_to": submission.routed_to(),
            "repeat": not submission.created,
        },
        status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
    )


def _not_an_object() -> dict:
    return {"non_field_errors": [_("请求体应为 JSON 对象。")]}


def _submission_errors(request) -> dict:
    """What is wrong with the request before the form reads it: the Idempotency-Key's length,
    a body that is not a JSON object, values of the wrong type. Raises what DRF raises for a
    body it cannot read (400, 413, 415)."""
    if len(_idempotency_key(request)) > IDEMPOTENCY_KEY_MAX_LENGTH:
        return {IDEMPOTENCY_HEADER: _too_long(IDEMPOTENCY_KEY_MAX_LENGTH)}
    body_length_check(request)
    payload = request.data
    if not isinstance(payload, dict):
        return _not_an_object()
    return _unknown_field_errors(payload, SUBMISSION_FIELDS) | _type_errors(payload)


def request_bodies_closed(result, generator, request, public):
    """drf-spectacular's postprocessing hook: the request bodies that refuse a field they do
    not name (`_unknown_field_errors`) say so, `additionalProperties: false`; and every
    operation documents the 503 a surge gets (`consult.web.load_shedding`, outside DRF)."""
    schemas = result.get("components", {}).get("schemas", {})
    for serializer in (CommentSubmissionSerializer, StatusLookupSerializer):
        name = serializer.__name__.removesuffix("Serializer")
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith("/api/schema"):
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("503", BUSY)
    return result


BUSY = {
    "description": "The site is busy: nothing was done (a comment was not stored); send the "
    "same request again after `retry_after` seconds (also the `Retry-After` header).",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": TOO_MANY}},
}


def _unknown_field_errors(payload: dict, known) -> dict:
    # Named back as sent, but encodable: a lone surrogate in a name would fail the answer.
    return {
        displayable(name): [_("未知字段，请对照 /api/schema/ 核对字段名。")]
        for name in payload.keys() - known
    }


def _moment(value):
    """A moment in a response built by hand, as the serializers give one: in Beijing time with
    its offset (+08:00), not the database's UTC, and to the second, as the period's ends are
    (the microseconds a timestamp carries are no part of what the site says)."""
    if value is None:
        return None
    return serializers.DateTimeField().to_representation(value.replace(microsecond=0))


def _form_errors(form) -> dict:
    errors = {}
    for field, messages in form.errors.get_json_data().items():
        errors["non_field_errors" if field == "__all__" else field] = [
            message["message"] for message in messages
        ]
    return errors


def _period_closed(consultation):
    return Response(
        {
            "detail": _("不在征求意见期内，不能提交意见。"),
            "opens_at": _moment(consultation.opens_at),
            "closes_at": _moment(consultation.closes_at),
        },
        status=status.HTTP_409_CONFLICT,
    )


def _status_response(request, number, proof, *, proof_field="proof"):
    if wait := status_lookup_limited(request, number):
        return _too_many(wait, looking_up=True)
    # The same rule as every text a citizen submits: a lone surrogate is a 400 naming the field.
    errors = {}
    for field, value, limit in (
        ("tracking_number", number, MAX_LENGTHS["tracking_number"]),
        (proof_field, proof, MAX_LENGTHS["proof"]),
    ):
        try:
            clean_text(value, field=field)
        except ValidationError as error:
            errors[field] = error.messages
        else:
            if len(value) > limit:
                errors[field] = _too_long(limit)
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    comment = comment_lookup(number, proof)
    if comment is None:
        return Response(
            {"detail": _("未找到与此回执编号和联系方式相符的意见。")},
            status=status.HTTP_404_NOT_FOUND,
        )
    publication = publication_for_submitter(comment)
    texts = comment_texts_found_by_proof(comment)
    return Response(
        {
            "tracking_number": comment.tracking_number,
            "consultation": comment.consultation.slug,
            "clause": comment.clause_id,
            "submitted_at": _moment(comment.submitted_at),
            "status": comment.status,
            "status_display": comment.get_status_display(),
            "decision": (comment.decision or None) if comment.is_answered else None,
            "decision_display": (
                (comment.get_decision_display() or None) if comment.is_answered else None
            ),
            "decision_reason": (texts["decision_reason"] or None) if comment.is_answered else None,
            "reply": (texts["reply"] or None) if comment.is_answered else None,
            "replied_at": _moment(comment.replied_at) if comment.is_answered else None,
            "publication": publication[0],
            "publication_display": publication[1],
            "clause_outcomes": [
                {
                    "revision": outcome.revision.number,
                    "revision_display": str(outcome.revision.label),
                    "kind": outcome.kind,
                    "kind_display": str(outcome.label),
                    "from_clause": outcome.old.pk,
                    "to_clauses": [clause.pk for clause in outcome.clauses],
                    "to_labels": [clause.label for clause in outcome.clauses],
                    "changes_url": request.build_absolute_uri(outcome.changes_url),
                }
                for outcome in comment_outcomes(comment)
            ],
        }
    )


PHONE_LAST4 = re.compile("[0-9]{4}")

STATUS_RESPONSES = {
    200: CommentStatusSerializer,
    400: _error(
        "A value missing, not a string, that cannot be read (control characters, an "
        "unencodable character) or too long, named per field (`non_field_errors` for a body "
        "that is not a JSON object); or `detail` when the body is not readable JSON.",
        BAD_REQUEST,
    ),
    404: _error("Unknown number, or a proof that does not match: the same answer for both."),
    429: _error(
        "Too many lookups: `retry_after` (and the `Retry-After` header) says how many seconds "
        "to wait.",
        TOO_MANY,
    ),
}


# A citizen's decision and reply (and, by GET, the proof in the address): no shared cache keeps it.
@never_cache
@extend_schema(
    parameters=[
        OpenApiParameter(
            "tracking_number",
            {"type": "string", "maxLength": MAX_LENGTHS["tracking_number"]},
            location=OpenApiParameter.PATH,
            required=True,
            description="The tracking number on the receipt (case, spaces and dashes ignored).",
        ),
        OpenApiParameter(
            "phone_last4",
            # Full-width digits, as Chinese input methods type them, are read as digits.
            {"type": "string", "pattern": "^[0-9\uff10-\uff19]{4}$"},
            description="The last four digits of the phone.",
        ),
        OpenApiParameter(
            "email",
            {"type": "string", "maxLength": MAX_LENGTHS["proof"]},
            description="The email given with the comment.",
        ),
    ],
    responses=STATUS_RESPONSES,
)
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])
def comment_status(request, tracking_number):
    last4 = request.query_params.get("phone_last4")
    if last4 is not None:
        # As the POST lookup reads its proof: an input method's full-width digits are digits.
        last4 = unicodedata.normalize("NFKC", last4).strip()
    if last4 is not None and not PHONE_LAST4.fullmatch(last4):
        # Named, not ignored: an empty or malformed proof beside an email is a client's error.
        return Response(
            {"phone_last4": [_("应为手机号的后四位数字。")]}, status=status.HTTP_400_BAD_REQUEST
        )
    proof_field = "phone_last4" if last4 else "email"
    proof = request.query_params.get(proof_field) or ""
    if not proof:
        missing = [_("请提供手机号后四位（phone_last4）或电子邮箱（email）。")]
        return Response(
            {"phone_last4": missing, "email": missing}, status=status.HTTP_400_BAD_REQUEST
        )
    return _status_response(request, tracking_number, proof, proof_field=proof_field)


# A citizen's decision and reply (and, by GET, the proof in the address): no shared cache keeps it.
@never_cache
@extend_schema(
    request=StatusLookupSerializer,
    examples=[
        OpenApiExample(
            "By the last four digits of the phone",
            value={"tracking_number": "7HK3-MP9Q-XA", "proof": "5678"},
            request_only=True,
        )
    ],
    responses={
        **STATUS_RESPONSES,
        411: LENGTH_REQUIRED,
        413: TOO_LARGE,
        415: UNSUPPORTED_MEDIA_TYPE,
    },
    description="The same lookup with the proof in the body, which keeps it out of URL logs.",
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([BoundedJSONParser])
def comment_status_lookup(request):
    body_length_check(request)
    payload = request.data
    if not isinstance(payload, dict):
        return Response(_not_an_object(), status=status.HTTP_400_BAD_REQUEST)
    errors = _unknown_field_errors(payload, STATUS_LOOKUP_FIELDS)
    for field in STATUS_LOOKUP_FIELDS:
        value = payload.get(field)
        if value is None or value == "":
            errors[field] = [_("此项为必填项。")]
        elif not isinstance(value, str):
            errors[field] = [_("应为字符串。")]
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    return _status_response(request, payload["tracking_number"], payload["proof"])


PUBLISHED_PER_PAGE = 50


def _published_dict(item) -> dict:
    answer = item.answer
    return {
        "number": item.number,
        "clause": item.clause_id,
        "clause_label": item.clause_label,
        "submitted_at": _moment(item.submitted_at),
        "submitter_kind": item.kind_value,
        "submitter_kind_display": item.kind,
        "body": item.body,
        "answer": None
        if answer is None
        else {
            "decision": answer.decision_value or None,
            "decision_display": answer.decision or None,
            "reason": answer.reason,
            "reply": answer.reply,
            "replied_at": _moment(answer.replied_at),
        },
        "unanswered_in_report": item.unanswered_in_report,
    }


def _found(queryset, **lookup):
    """The one object, or a 404 in the request's language naming no model: DRF passes
    get_object_or_404's "No Consultation matches the given query." through as it is."""
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:
        raise NotFound(_("未找到。")) from None


def _positive_integer(value: str | None, limit: int = CLAUSE_ID_MAX) -> int | None:
    if not is_number(value):
        return None
    number = int(value)
    return number if 1 <= number <= limit else None


@shared_with_anonymous_visitors
@extend_schema(
    parameters=[
        SLUG,
        OpenApiParameter(
            "clause",
            {"type": "integer", "minimum": 1},
            description="A clause id of this consultation; absent: the whole consultation.",
        ),
        OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="From 1."),
    ],
    responses={
        200: PublishedCommentsSerializer,
        400: _error("`clause` or `page` is not a positive integer.", FIELD_ERRORS),
        404: _error(
            "No consultation has this slug, or the clause is not one of its own (`detail`); "
            "or `page` is past the last page (named as a field).",
            {"oneOf": [DETAIL, FIELD_ERRORS]},
        ),
    },
    description=(
        "The comments published with their submitters' consent, newest first, "
        f"{PUBLISHED_PER_PAGE} a page. No tracking numbers and no personal data."
    ),
)
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])
def published_comments(request, slug):
    consultation = _found(Consultation.objects.select_related("issuer"), slug=slug)
    errors, clause = {}, None
    clause_param = request.query_params.get("clause")
    if clause_param is not None:
        clause_id = _positive_integer(clause_param)
        if clause_id is None:
            errors["clause"] = [_("应为条款编号（正整数）。")]
        else:
            clause = _found(Clause.objects.public(), pk=clause_id, consultation=consultation)
    page_number = _positive_integer(request.query_params.get("page", "1"), limit=10**6)
    if page_number is None:
        errors["page"] = [_("应为页码（正整数）。")]
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    comments = comments_published(consultation, clause, whole_consultation=clause is None)
    paginator = Paginator(comments.select_related("consultation", "clause"), PUBLISHED_PER_PAGE)
    if page_number > paginator.num_pages:
        # Not the last page again: a client reading until a page is missing stops here.
        return Response(
            {
                "page": [
                    _("没有这一页：最后一页是第 %(pages)d 页。") % {"pages": paginator.num_pages}
                ]
            },
            status=status.HTTP_404_NOT_FOUND,
        )
    page = paginator.page(page_number)
    return Response(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": [_published_dict(comment_as_published(c)) for c in page.object_list],
        }
    )
