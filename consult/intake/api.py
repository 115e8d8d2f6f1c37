"""The REST API for organisations: read consultations, submit comments, look up their status.

Submissions go through the same CommentForm and comment_submit as the web page; this module only
maps HTTP and JSON onto them.
"""

import io
import re
from itertools import accumulate

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from consult.comments.lookup import comment_lookup
from consult.comments.models import Comment
from consult.comments.privacy import mask_phone
from consult.comments.services import CommentPeriodClosed, comment_submit
from consult.comments.validation import clean_text
from consult.consultations.models import Consultation

from .forms import CommentForm
from .limits import (
    client_ip,
    status_lookup_limited,
    submission_limited_by_contact,
    submission_limited_by_ip,
)
from .presenters import clause_tree_with_counts

STRING_FIELDS = ("body", "name", "kind", "organisation", "phone", "email")
BOOLEAN_FIELDS = ("consent", "wants_reply", "notify_on_report")

# Far more than a submission needs (its body is one object of plain values).
MAX_JSON_DEPTH = 32
# A JSON string, its closing quote optional (the text may be cut short): brackets inside it are
# not nesting. Where the text stops being JSON, json.loads stops too, so what follows is moot.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_BRACKET_STEPS = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deep the JSON text nests arrays and objects, found without parsing it."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEPS.__getitem__, brackets)), default=0)


class DepthLimitedJSONParser(JSONParser):
    """JSON, refused with a 400 when nested too deep, before it is parsed.

    json.loads recurses once per level: a thousand levels raise RecursionError, a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        encoding = get_encoding(parser_context or {})
        try:
            text = raw.decode(encoding)
        except (UnicodeError, LookupError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(
                _("请求体的 JSON 嵌套层数过多（最多 %(limit)d 层）。") % {"limit": MAX_JSON_DEPTH}
            )
        return super().parse(io.BytesIO(raw), media_type, parser_context)


class ConsultationSummarySerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="issuer.full_name")
    is_open = serializers.BooleanField()
    status = serializers.CharField()
    url = serializers.SerializerMethodField()

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
        "children": [clause_dict(child) for child in clause.subclauses],
    }


def _too_many():
    return Response(
        {"detail": _("提交过于频繁，请稍后再试。")}, status=status.HTTP_429_TOO_MANY_REQUESTS
    )


@extend_schema(responses=ConsultationSummarySerializer(many=True))
@api_view(["GET"])
@permission_classes([AllowAny])
def consultation_list(request):
    consultations = Consultation.objects.select_related("issuer").order_by("-opens_at")
    return Response(
        ConsultationSummarySerializer(consultations, many=True, context={"request": request}).data
    )


@extend_schema(
    responses=inline_serializer(
        "ConsultationDetail",
        {
            "slug": serializers.CharField(),
            "title": serializers.CharField(),
            "issuer": serializers.CharField(),
            "opens_at": serializers.DateTimeField(),
            "closes_at": serializers.DateTimeField(),
            "is_open": serializers.BooleanField(),
            "clauses": serializers.ListField(child=serializers.DictField()),
        },
    )
)
@api_view(["GET"])
@permission_classes([AllowAny])
def consultation_detail(request, slug):
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    tree, total = clause_tree_with_counts(consultation)
    data = ConsultationSummarySerializer(consultation, context={"request": request}).data
    data["contact"] = {
        "name": consultation.contact_name,
        "phone": mask_phone(consultation.contact_phone),  # as the consultation page shows it
        "email": consultation.contact_email,
    }
    data["comment_count"] = total
    data["clauses"] = [clause_dict(clause) for clause in tree]
    return Response(data)


IDEMPOTENCY_HEADER = "Idempotency-Key"
COMMENT_CREATE_DESCRIPTION = """Submit a comment. Every request stores a comment (201), unless it \
is a retry.

Retries: send an `Idempotency-Key` header with a value of your own, unique to the comment (a \
random UUID), and send it unchanged when you retry. A request with a key already used in the \
last ten minutes, for the same consultation and clause, the same text and the same phone and \
email, stores nothing and is answered with the first response's receipt: 200, the same \
`tracking_number`, `repeat` true. Anything else is a new comment (201), with or without a key: \
the same text from another key, or without one, is stored, however alike. Keys are kept, \
hashed, for ten minutes; they are matched exactly and scoped to nothing else, so never reuse \
one for a different comment or share it between clients. Retries count against the rate \
limits like any request."""


def _idempotency_scope(request) -> str:
    """The repeat scope of an API request: its Idempotency-Key, or none."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    return f"idempotency-key:{key}" if key else ""


def _type_errors(payload) -> dict:
    """JSON values of the wrong type, named per field (the form would coerce them silently)."""
    errors = {}
    for name in STRING_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = [_("应为字符串。")]
    for name in BOOLEAN_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, bool):
            errors[name] = [_("应为 true 或 false。")]
    clause = payload.get("clause")
    if clause is not None and (isinstance(clause, bool) or not isinstance(clause, int)):
        errors["clause"] = [_("应为条款编号（整数）或 null。")]
    return errors


@extend_schema(
    request=inline_serializer(
        "CommentSubmission",
        {
            "clause": serializers.IntegerField(allow_null=True, required=False),
            "body": serializers.CharField(),
            "name": serializers.CharField(required=False),
            "kind": serializers.ChoiceField(choices=Comment.Kind.choices, required=False),
            "organisation": serializers.CharField(required=False),
            "phone": serializers.CharField(required=False),
            "email": serializers.EmailField(required=False),
            "wants_reply": serializers.BooleanField(required=False),
            "notify_on_report": serializers.BooleanField(required=False),
            "consent": serializers.BooleanField(),
        },
    ),
    responses={
        201: inline_serializer(
            "CommentReceipt",
            {
                "tracking_number": serializers.CharField(),
                "routed_to": serializers.ListField(child=serializers.DictField()),
            },
        ),
        200: OpenApiResponse(
            description=(
                "A retry with the Idempotency-Key of a comment sent in the last ten minutes: "
                "the first response's receipt (the same tracking number), `repeat` true."
            )
        ),
        400: OpenApiResponse(description="{field: [messages]}"),
        409: OpenApiResponse(description="Outside the comment period."),
        429: OpenApiResponse(description="Too many submissions."),
    },
    parameters=[
        OpenApiParameter(
            IDEMPOTENCY_HEADER,
            str,
            location=OpenApiParameter.HEADER,
            required=False,
            description=(
                "A value unique to this comment (a random UUID), sent again unchanged when the "
                "request is retried."
            ),
        )
    ],
    description=COMMENT_CREATE_DESCRIPTION,
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([DepthLimitedJSONParser])
def comment_create(request, slug):
    now = timezone.now()
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    if not consultation.accepts_comments_at(now):
        return _period_closed(consultation)
    if submission_limited_by_ip(request):
        return _too_many()
    payload = request.data
    if not isinstance(payload, dict):
        return Response(
            {"non_field_errors": [_("请求体应为 JSON 对象。")]}, status=status.HTTP_400_BAD_REQUEST
        )
    if errors := _type_errors(payload):
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    data = {key: value for key, value in payload.items() if value is not None}
    data.pop("website", None)
    data.setdefault("kind", Comment.Kind.INDIVIDUAL)
    form = CommentForm(data=data, consultation=consultation)
    del form.fields["attachment"]
    if not form.is_valid():
        return Response(_form_errors(form), status=status.HTTP_400_BAD_REQUEST)
    submission_data = form.submission()
    if submission_limited_by_contact(
        phone=submission_data["phone"], email=submission_data["email"]
    ):
        return _too_many()
    try:
        submission = comment_submit(
            **submission_data,
            channel=Comment.Channel.API,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            repeat_scope=_idempotency_scope(request),
            now=now,
        )
    except CommentPeriodClosed:
        return _period_closed(consultation)
    except ValidationError as error:
        return Response(error.message_dict, status=status.HTTP_400_BAD_REQUEST)
    comment = submission.comment
    routes = comment.routes.select_related("department").order_by("position")
    return Response(
        {
            "tracking_number": comment.tracking_number,
            "clause": comment.clause_id,
            "submitted_at": comment.submitted_at,
            "routed_to": [
                {"department": route.department.name, "role": route.role} for route in routes
            ],
            "repeat": not submission.created,
        },
        status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
    )


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
            "opens_at": consultation.opens_at,
            "closes_at": consultation.closes_at,
        },
        status=status.HTTP_409_CONFLICT,
    )


def _status_response(request, number, proof, *, proof_field="proof"):
    if status_lookup_limited(request):
        return _too_many()
    # The same rule as every text a citizen submits: a lone surrogate is a 400 naming the field.
    errors = {}
    for field, value in (("tracking_number", number), (proof_field, proof)):
        try:
            clean_text(value, field=field)
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    comment = comment_lookup(number, proof)
    if comment is None:
        return Response(
            {"detail": _("未找到与此回执编号和联系方式相符的意见。")},
            status=status.HTTP_404_NOT_FOUND,
        )
    return Response(
        {
            "tracking_number": comment.tracking_number,
            "consultation": comment.consultation.slug,
            "clause": comment.clause_id,
            "submitted_at": comment.submitted_at,
            "status": comment.status,
            "status_display": comment.get_status_display(),
            "decision": (comment.decision or None) if comment.is_answered else None,
            "decision_display": (
                (comment.get_decision_display() or None) if comment.is_answered else None
            ),
            "reply": (comment.reply or None) if comment.is_answered else None,
            "replied_at": comment.replied_at if comment.is_answered else None,
        }
    )


STATUS_RESPONSES = {
    200: inline_serializer(
        "CommentStatus",
        {
            "tracking_number": serializers.CharField(),
            "status": serializers.CharField(),
            "decision": serializers.CharField(allow_null=True),
            "reply": serializers.CharField(allow_null=True),
        },
    ),
    404: OpenApiResponse(description="Unknown number, or a proof that does not match."),
    429: OpenApiResponse(description="Too many lookups."),
}


@extend_schema(
    parameters=[
        OpenApiParameter("phone_last4", str, description="The last four digits of the phone."),
        OpenApiParameter("email", str, description="The email given with the comment."),
    ],
    responses=STATUS_RESPONSES,
)
@api_view(["GET"])
@permission_classes([AllowAny])
def comment_status(request, tracking_number):
    proof_field = "phone_last4" if request.query_params.get("phone_last4") else "email"
    proof = request.query_params.get(proof_field) or ""
    return _status_response(request, tracking_number, proof, proof_field=proof_field)


@extend_schema(
    request=inline_serializer(
        "StatusLookup",
        {"tracking_number": serializers.CharField(), "proof": serializers.CharField()},
    ),
    responses=STATUS_RESPONSES,
    description="The same lookup with the proof in the body, which keeps it out of URL logs.",
)
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([DepthLimitedJSONParser])
def comment_status_lookup(request):
    payload = request.data if isinstance(request.data, dict) else {}
    number, proof = payload.get("tracking_number"), payload.get("proof")
    if not isinstance(number, str) or not isinstance(proof, str):
        return Response(
            {"tracking_number": [_("请提供回执编号和手机号后四位或电子邮箱（proof）。")]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return _status_response(request, number, proof)
