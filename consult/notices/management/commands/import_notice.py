"""import_notice: read a published notice and store it as a consultation, or a later draft
(or the final text) as the next revision of one."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from consult.consultations.models import Consultation
from consult.notices.importer import (
    NoticeImportError,
    notice_error_text,
    notice_import,
    read_notice_file,
    revision_import,
)
from consult.notices.lineage import CONFIDENT
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
        parser.add_argument(
            "--revision-of",
            metavar="SLUG",
            help="Import as the next revision (修改稿) of this consultation, unpublished until "
            "a coordinator confirms its clause links in the admin.",
        )
        parser.add_argument(
            "--final",
            action="store_true",
            help="With --revision-of: the final text, the last revision, with no comment period.",
        )

    def handle(self, *args, path, dry_run, as_json, slug, revision_of, final, **options):
        if final and not revision_of:
            raise CommandError("--final needs --revision-of SLUG.", returncode=2)
        try:
            source = read_notice_file(path)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}", returncode=2) from error
        except NoticeImportError as error:  # not text in an encoding notices come in
            raise CommandError(f"{path}: {error}", returncode=2) from error
        try:
            parsed = parse_notice(source)
        except NoticeParseError as error:
            raise CommandError(f"{path}: {notice_error_text(error)}", returncode=2) from error

        document = parsed.to_dict()
        if revision_of and not dry_run:
            document.update(self._revision(path, parsed, source, revision_of, final))
        elif not dry_run:
            slug = slug or slugify(path.stem) or f"notice-{parsed.published_on or 'undated'}"
            created = []
            try:
                consultation = notice_import(
                    parsed=parsed, slug=slug, source_text=source, created=created
                )
            except NoticeImportError as error:
                raise CommandError(f"{path}: {error}", returncode=2) from error
            document["slug"] = consultation.slug
            self.stderr.write(
                f"Imported “{consultation.title}” as {consultation.slug} "
                f"({consultation.clauses.count()} clauses)."
            )
            self._report_created(created)
            document["departments_created"] = [d.name for d in created]
        if as_json:
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        elif dry_run:
            self.stderr.write(f"{path}: read {_count(parsed.clauses)} clauses; nothing written.")

    def _revision(self, path, parsed, source, slug, final) -> dict:
        consultation = Consultation.objects.filter(slug=slug).first()
        if consultation is None:
            raise CommandError(f"{path}: no consultation has the slug “{slug}”.", returncode=2)
        created = []
        try:
            revision = revision_import(
                parsed=parsed,
                consultation=consultation,
                source_text=source,
                final=final,
                created=created,
            )
        except NoticeImportError as error:
            raise CommandError(f"{path}: {error}", returncode=2) from error
        links = revision.links.all()
        unsure = sum(1 for link in links if link.score < CONFIDENT)
        self.stderr.write(
            f"Imported revision {revision.number} of {slug} ({revision.clauses.count()} clauses,"
            f" {len(links)} proposed links, {unsure} with a low score). Confirm the links and"
            " publish it in the admin."
        )
        self._report_created(created)
        return {
            "slug": slug,
            "revision": revision.number,
            "final": revision.is_final,
            "departments_created": [d.name for d in created],
        }

    def _report_created(self, created) -> None:
        """New departments have no mailbox: until an operator gives them one, comments routed
        to them reach nobody, so each is named."""
        if created:
            self.stderr.write(
                f"Created {len(created)} new department(s) with no mailbox; add one in the admin"
                " or their comments reach nobody (or join a misspelt one to its department as"
                " an alias):"
            )
            for department in created:
                self.stderr.write(f"  {department.name}")


def _count(clauses):
    return sum(1 + _count(c.children) for c in clauses)
