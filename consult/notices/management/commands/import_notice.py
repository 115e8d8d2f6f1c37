"""import_notice: read a published notice and store it as a consultation."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from consult.notices.importer import NoticeImportError, notice_import, read_notice_file
from consult.notices.parser import NoticeParseError, parse_notice


class Command(BaseCommand):
    help = "Import a notice (征求意见通知) as published into a consultation with its clause tree."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Parse only; write nothing.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the parse as JSON."
        )
        parser.add_argument("--slug", help="URL slug (default: from the file name).")

    def handle(self, *args, path, dry_run, as_json, slug, **options):
        try:
            source = read_notice_file(path)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}", returncode=2) from error
        try:
            parsed = parse_notice(source)
        except NoticeParseError as error:
            raise CommandError(f"{path}: {error}", returncode=2) from error

        document = parsed.to_dict()
        if not dry_run:
            slug = slug or slugify(path.stem) or f"notice-{parsed.published_on or 'undated'}"
            try:
                consultation = notice_import(parsed=parsed, slug=slug, source_text=source)
            except NoticeImportError as error:
                raise CommandError(f"{path}: {error}", returncode=2) from error
            document["slug"] = consultation.slug
            self.stderr.write(
                f"Imported “{consultation.title}” as {consultation.slug} "
                f"({consultation.clauses.count()} clauses)."
            )
        if as_json:
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        elif dry_run:
            self.stderr.write(f"{path}: read {_count(parsed.clauses)} clauses; nothing written.")


def _count(clauses):
    return sum(1 + _count(c.children) for c in clauses)
