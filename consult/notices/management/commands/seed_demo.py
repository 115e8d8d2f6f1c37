"""seed_demo: load the Weifang consultation, an open demo copy of it, and an admin login."""

import datetime
import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from consult.consultations.models import Consultation, Department, period_over_at
from consult.consultations.services import consultation_copy, departments_load, staff_join
from consult.notices.importer import notice_import, read_notice_file
from consult.notices.parser import parse_notice

FIXTURES = settings.BASE_DIR / "fixtures"
NOTICE = FIXTURES / "notices" / "weifang-marine-2024.txt"
SLUG = "weifang-marine-2024"
DEMO_SLUG = "weifang-marine-2024-demo"
DEMO_DAYS_OPEN = 30


class Command(BaseCommand):
    help = (
        "Load the Weifang departments and notice (faithful dates), an open demo copy of it, "
        "and an admin user. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default="admin")

    def handle(self, *args, admin_username, **options):
        if not settings.DEBUG:
            # Demo accounts for every department with one shared password, printed: on a
            # production database they would be doors into every department's comments.
            raise CommandError(
                "seed_demo is for development (DEBUG=true, as `make run` sets): it creates demo "
                "staff accounts with one shared password. In production, create the first "
                "account with `manage.py createsuperuser` and import notices with "
                "`manage.py import_notice`."
            )
        rows = json.loads((FIXTURES / "weifang-departments.json").read_text("utf-8"))
        with transaction.atomic():
            departments_load(rows["departments"])
            original = Consultation.objects.filter(slug=SLUG).first()
            if original is None:
                source = read_notice_file(NOTICE)
                original = notice_import(parsed=parse_notice(source), slug=SLUG, source_text=source)
                self.stdout.write(f"Imported {original.title} ({SLUG}).")
            # The real deadline has passed; the demo copy is open from yesterday for a month.
            today = timezone.localdate()
            opens_at = timezone.make_aware(
                datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time.min)
            )
            closes_at = timezone.make_aware(
                datetime.datetime.combine(
                    today + datetime.timedelta(days=DEMO_DAYS_OPEN), datetime.time(23, 59, 59)
                )
            )
            demo = Consultation.objects.filter(slug=DEMO_SLUG).first()
            if (
                demo is not None
                and period_over_at(demo.closes_at, timezone.now())
                and demo.report_published_at is None
            ):
                # `make run` a month later: the README promises an open copy to comment on.
                demo.opens_at, demo.closes_at = opens_at, closes_at
                demo.save()
                self.stdout.write(f"Opened the demo copy ({DEMO_SLUG}) again for a month.")
            elif demo is None:
                consultation_copy(
                    original,
                    slug=DEMO_SLUG,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    title=f"{original.title}（演示）",
                )
                self.stdout.write(f"Created an open demo copy ({DEMO_SLUG}).")
        password = self._admin(admin_username)
        staff_password = self._department_staff(rows["departments"])
        admin_login = (
            f"password “{password}”"
            if password
            else f"its own password (`manage.py changepassword {admin_username}` sets one)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Site:  {settings.SITE_URL}/\n"
                f"  Admin: {settings.SITE_URL}/admin/  user “{admin_username}”  {admin_login}\n"
                f"  Department staff: users such as “hyj” (市海渔局, the issuer) or “fgw” "
                f"(市发改委), password “{staff_password}”\n"
            )
        )

    def _department_staff(self, rows):
        """One demo login per department, sharing one generated password kept in var/."""
        password_file = Path(settings.VAR_DIR) / "staff-password.txt"
        if password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        User = get_user_model()
        for row in rows:
            if not row.get("staff_username"):
                continue
            user, created = User.objects.get_or_create(
                username=row["staff_username"],
                defaults={"is_staff": True, "email": f"{row['staff_username']}@staff.example"},
            )
            if created:
                user.set_password(password)
                user.save()
            staff_join(user, Department.objects.named(row["name"]).get())
        return password

    def _admin(self, username):
        """Create the admin once; its generated password is kept in var/ to print every run.

        An account that exists with another password (its own, set since; or the kept one is
        another admin's or another database's) is left alone: None, and the run says so."""
        password_file = Path(settings.VAR_DIR) / "admin-password.txt"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None:
            kept = password_file.read_text().strip() if password_file.exists() else ""
            return kept if kept and user.check_password(kept) else None
        password = secrets.token_urlsafe(12)
        user = User(username=username, is_staff=True, is_superuser=True)
        user.set_password(password)
        user.save()
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return password
