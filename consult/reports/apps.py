from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "consult.reports"
    verbose_name = _("意见采纳情况")
