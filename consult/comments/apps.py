from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "consult.comments"
    verbose_name = _("意见")

    def ready(self):
        from consult.notifications.models import Notification
        from consult.notifications.outbox import department_addressed_kinds_register
        from consult.notifications.rendering import notification_items_enricher_register

        from .notifying import TO_DEPARTMENT_MAILBOXES, notification_items_with_comments

        notification_items_enricher_register(notification_items_with_comments)
        # Sent again, these go to the department's addresses as they are now.
        department_addressed_kinds_register(
            {**dict.fromkeys(TO_DEPARTMENT_MAILBOXES, False), Notification.Kind.REMINDER: True}
        )
