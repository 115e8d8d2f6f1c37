from django.core.management.base import BaseCommand

from consult.comments.retention import comments_past_retention, personal_data_purge


class Command(BaseCommand):
    help = (
        "Remove the submitters' personal data (name, phone, email, IP hash, attachments) of "
        "comments past PERSONAL_DATA_RETENTION_DAYS; the periodic job does the same daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only say how many comments it would clear."
        )

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            count = comments_past_retention().count()
            self.stdout.write(f"{count} comments would lose their personal data")
            return
        self.stdout.write(f"{personal_data_purge()} comments lost their personal data")
