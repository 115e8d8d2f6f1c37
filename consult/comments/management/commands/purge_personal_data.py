from django.core.management.base import BaseCommand
from django.utils import timezone

from consult.comments.exports import exports_expired, exports_holding
from consult.comments.retention import comments_past_retention, retention_apply


class Command(BaseCommand):
    help = (
        "Remove the submitters' personal data (name, phone, email, IP hash, attachments) of "
        "comments past PERSONAL_DATA_RETENTION_DAYS, and the exports (files of it) past "
        "EXPORT_KEEP_DAYS; the periodic job does the same daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only say how many comments and exports it would clear.",
        )

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            due = comments_past_retention()
            comments = due.count()
            # Clearing comments deletes the files of their contact details made before, too.
            holding = exports_holding(due, made_before=timezone.now()) if comments else ()
            exports = exports_expired(also=holding).count()
            self.stdout.write(
                f"{comments} comments would lose their personal data;"
                f" {exports} exports would be deleted"
            )
            return
        comments, exports = retention_apply()
        self.stdout.write(
            f"{comments} comments lost their personal data; {exports} exports were deleted"
        )
