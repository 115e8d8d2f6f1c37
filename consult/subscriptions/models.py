"""A citizen's email subscription to the new consultations of one bureau, or of all of them.

The address is the only personal data kept; unsubscribing deletes the row. Only a confirmed
subscription (double opt-in) is ever mailed.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SubscriptionQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(confirmed_at__isnull=False)

    def of_issuer(self, department_id):
        """Subscribed to this bureau's consultations, or to every bureau's."""
        return self.filter(Q(department_id=department_id) | Q(department__isnull=True))


class Subscription(models.Model):
    email = models.EmailField(_("电子邮箱"), help_text=_("订阅人的邮箱；取消订阅即删除。"))
    department = models.ForeignKey(
        "consultations.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("发布单位"),
        help_text=_("只通知该单位发布的征求意见；为空表示所有单位。"),
    )
    language = models.CharField(
        _("语言"), max_length=16, default="zh-hans", help_text=_("订阅时使用的语言，邮件用它。")
    )
    created_at = models.DateTimeField(_("订阅时间"))
    confirmed_at = models.DateTimeField(
        _("确认时间"),
        null=True,
        blank=True,
        help_text=_("订阅人点击确认链接的时间；未确认的订阅不会收到任何通知。"),
    )

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("邮件订阅")
        verbose_name_plural = _("邮件订阅")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "department"],
                condition=Q(department__isnull=False),
                name="subscription_once_per_department",
            ),
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(department__isnull=True),
                name="subscription_once_for_all",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
