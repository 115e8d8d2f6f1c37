"""Email subscriptions to new consultations: the form, the confirmation link and the one-click
unsubscribe. The rules live in consult.subscriptions.services; these views translate HTTP."""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from consult.consultations.models import Department
from consult.subscriptions.services import (
    CONFIRM_LINK_MAX_AGE,
    SubscriptionLinkExpired,
    SubscriptionLinkInvalid,
    address_normalize,
    subscription_cancel,
    subscription_confirm,
    subscription_for_confirmation,
    subscription_for_unsubscribe,
    subscription_request,
)

from .forms import DepartmentSelect, PlainEmailField, StorableInputForm
from .limits import client_network, limits_exceeded
from .views import in_the_language_of_the_email, too_many_requests

# A stranger must not be able to flood an address with confirmation mails, nor one address
# with subscriptions: per sender and per address.
SUBSCRIBE_RATE_LIMITS_PER_IP = ["10/h", "50/d"]
SUBSCRIBE_RATE_LIMITS_PER_ADDRESS = ["3/h", "10/d"]


def issuing_departments():
    return Department.objects.active().filter(issued_consultations__isnull=False).distinct()


class SubscriptionForm(StorableInputForm):
    email = PlainEmailField(
        label=_("电子邮箱"),
        max_length=254,
        help_text=_("我们会先发一封确认邮件；确认后才会收到通知。"),
        error_messages={
            "required": _("请填写电子邮箱。"),
            "invalid": _("请填写有效的电子邮箱。"),
        },
    )
    department = forms.ModelChoiceField(
        label=_("发布单位"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("所有单位"),
        widget=DepartmentSelect,
        help_text=_("只接收该单位发布的新征求意见，或选择“所有单位”。"),
        error_messages={"invalid_choice": _("请选择列表中的单位。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = issuing_departments()


def _subscribe_limited(request, email: str) -> int:
    """The seconds to wait, 0 when the request is within the limits."""
    return limits_exceeded(
        ("subscribe-ip", client_network(request), SUBSCRIBE_RATE_LIMITS_PER_IP),
        ("subscribe-email", address_normalize(email), SUBSCRIBE_RATE_LIMITS_PER_ADDRESS),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request):
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            if wait := _subscribe_limited(request, email):
                # The form again, what was typed kept, and how long to wait (as the comment
                # form and the lookup answer theirs).
                return too_many_requests(
                    request, "intake/subscriptions/subscribe.html", {"form": form}, wait=wait
                )
            subscription_request(
                email=email,
                department=form.cleaned_data["department"],
                language=translation.get_language() or "zh-hans",
            )
            return render(
                request,
                "intake/subscriptions/subscribe_sent.html",
                {"valid_days": CONFIRM_LINK_MAX_AGE.days},
            )
        if not form.errors.get("email"):
            form.add_error(None, ValidationError(_("请检查所填内容。"), code="invalid"))
    else:
        department = request.GET.get("department", "")
        form = SubscriptionForm(
            initial={"department": department if department.isdigit() else None}
        )
    return render(
        request,
        "intake/subscriptions/subscribe.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


def _link_refused(request, error: SubscriptionLinkInvalid):
    return render(
        request,
        "intake/subscriptions/link_invalid.html",
        {"expired": isinstance(error, SubscriptionLinkExpired)},
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def subscription_confirm_view(request, token):
    """GET shows a button, POST confirms: a mail scanner that follows links confirms nothing."""
    try:
        if request.method == "POST":
            subscription = subscription_confirm(token)
            in_the_language_of_the_email(request, subscription.language)
            return render(
                request,
                "intake/subscriptions/confirmed.html",
                {"subscription": subscription},
            )
        subscription = subscription_for_confirmation(token)
    except SubscriptionLinkInvalid as error:
        return _link_refused(request, error)
    in_the_language_of_the_email(request, subscription.language)
    return render(request, "intake/subscriptions/confirm.html", {"subscription": subscription})


@csrf_exempt  # RFC 8058 one-click: the mail provider posts without our cookie; the link is signed
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET shows a button; POST (the button, or a mail client's one-click) unsubscribes."""
    try:
        subscription = subscription_for_unsubscribe(token)
    except SubscriptionLinkInvalid as error:
        return _link_refused(request, error)
    if subscription is None:  # a second click
        return render(request, "intake/subscriptions/unsubscribed.html")
    in_the_language_of_the_email(request, subscription.language)
    if request.method == "POST":
        subscription_cancel(subscription)
        return render(request, "intake/subscriptions/unsubscribed.html")
    return render(request, "intake/subscriptions/unsubscribe.html", {"subscription": subscription})
