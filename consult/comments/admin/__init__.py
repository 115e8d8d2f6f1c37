"""The comments admin: the comment queue and its records, registered when Django imports this."""

from .paginator import CappedCountPaginator
from .publication import PublicationReviewAdmin  # noqa: F401 - registers 公开意见审核
from .queue import CommentAdmin
from .records import CampaignAdmin, CommentEventAdmin, ExportAdmin

__all__ = [
    "CampaignAdmin",
    "CappedCountPaginator",
    "CommentAdmin",
    "CommentEventAdmin",
    "ExportAdmin",
]
