from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultationsConfig(AppConfig):
    name = "consult.consultations"
    verbose_name = _("征求意见与部门")

    def ready(self):
        import logging

        from django.conf import settings

        from .directory import directory_signals_connect

        directory_signals_connect()

        if settings.CELERY_TASK_ALWAYS_EAGER:
            logging.getLogger("consult").info(
                "CELERY_BROKER_URL is not set: tasks run in-process (eager mode)."
            )
