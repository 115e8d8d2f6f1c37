from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    """Email subscriptions to new consultations: double opt-in, one-click unsubscribe."""

    name = "consult.subscriptions"
    verbose_name = _("邮件订阅")
