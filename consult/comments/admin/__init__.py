"""The comments admin: the comment queue and its records, registered when Django imports this."""

from .paginator import CappedCountPaginator
from .queue import CommentAdmin
from .records import CampaignAdmin, CommentEventAdmin, ExportAdmin

__all__ = [
    "CampaignAdmin",
    "CappedCountPaginator",
    "CommentAdmin",
    "CommentEventAdmin",
    "ExportAdmin",
]
