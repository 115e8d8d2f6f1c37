from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "consult.intake"
    verbose_name = _("公众页面与接口")

    def ready(self):
        from . import checks  # noqa: F401  (registers the deployment check)
