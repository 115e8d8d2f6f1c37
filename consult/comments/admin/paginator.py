"""The queue's paginator: a count capped so a million comments never pay for a full COUNT(*)."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows, so a list over a million comments never pays for a full
    COUNT(*) on every page; beyond the cap people narrow the filters."""

    cap = 1_000

    @cached_property
    def count(self):
        # Only the ids, in no order: neither the list's per-row annotations nor its sort are
        # worth computing to count (ordered, the database walks the date index to count).
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def count_capped(self):
        return self.count > self.cap
