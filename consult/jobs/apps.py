from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "consult.jobs"
    verbose_name = _("定时任务")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check)
