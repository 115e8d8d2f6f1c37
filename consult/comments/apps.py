from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "consult.comments"
    verbose_name = _("意见")

    def ready(self):
        from consult.notifications.rendering import notification_items_enricher_register

        from .notifying import notification_items_with_comments

        notification_items_enricher_register(notification_items_with_comments)
