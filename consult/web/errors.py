"""Error responses: JSON under /api/, where clients read JSON; the site's own pages everywhere
else (templates/404.html, 403.html, 403_csrf.html and 400.html in the site's layout, 500.html
standalone: Django renders it without a request, and it must show when the database is what
failed).

DRF answers the errors its own views raise in JSON already. These handlers cover what never
reaches a DRF view: a path that matches no route (a slug with a dot, a tracking number with a
slash), a request Django refuses before routing, and an error outside the view.
"""

from django.http import JsonResponse
from django.middleware import csrf
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def is_api_path(request) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception):
    if is_api_path(request):
        return JsonResponse({"detail": _("请求无效。")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api_path(request):
        return JsonResponse({"detail": _("没有权限。")}, status=403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a form posted after its token expired (the session ran out
    while the citizen was typing) or without the cookie. Says how to send it again instead of
    Django's bare English page, and gives the comment's text back: the browser's draft is gone
    where its storage is refused with its cookies, or without JavaScript."""
    if is_api_path(request):
        return JsonResponse({"detail": _("请求已过期，请重新载入后再试。")}, status=403)
    # Here, not at the top: consult.wsgi imports this module (by load_shedding) before Django's
    # apps are loaded, and the form's module imports models (the CAPTCHA's).
    from consult.intake.forms import typed_comment_text

    comment_form = _is_comment_form(request)
    shown_back = comment_form and _from_this_site(request, reason)
    context = {
        "comment_form": comment_form,
        "typed": typed_comment_text(request) if shown_back else "",
    }
    return TemplateResponse(request, "403_csrf.html", context, status=403).render()


def _from_this_site(request, reason: str) -> bool:
    """Whether the refused post came from this site's own page: the middleware refuses a post
    from another origin, and on HTTPS one without a same-site Referer, before it reads the
    token, so a token refused after either check passed is one. Without an Origin on plain
    HTTP nothing says where it came from. A page elsewhere posting text to the form must not
    have this site show it as what the citizen typed."""
    if reason.startswith(_WHERE_IT_CAME_FROM_REFUSED):
        return False
    return "HTTP_ORIGIN" in request.META or request.is_secure()


_WHERE_IT_CAME_FROM_REFUSED = tuple(
    reason.split("%", 1)[0]
    for reason in (
        csrf.REASON_BAD_ORIGIN,
        csrf.REASON_NO_REFERER,
        csrf.REASON_BAD_REFERER,
        csrf.REASON_MALFORMED_REFERER,
        csrf.REASON_INSECURE_REFERER,
    )
)


# The forms whose text the browser keeps as a draft (static/consult/comment_form.js): only
# their page may say that the text comes back on reload.
COMMENT_FORMS = ("intake:comment_create", "intake:clause_comment_create")


def _is_comment_form(request) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in COMMENT_FORMS


def page_not_found(request, exception):
    if is_api_path(request):
        return JsonResponse({"detail": _("未找到。")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request):
        return JsonResponse({"detail": _("服务器内部错误。")}, status=500)
    return defaults.server_error(request)
