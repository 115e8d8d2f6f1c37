"""Mail backends: a file backend that writes one .eml file per message, so a person can open what
was sent, and Django's SMTP backend telling which recipients the relay refused."""

import itertools
import os
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend
from django.utils import timezone

_sequence = itertools.count()


class OneFilePerMessageBackend(BaseEmailBackend):
    """Unlike Django's file backend, which puts all of one connection's messages in one file."""

    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            name = f"{stamp}-{os.getpid()}-{next(_sequence)}.eml"
            (self.directory / name).write_bytes(message.message().as_bytes(linesep="\n"))
            sent += 1
        return sent


class SMTPBackend(EmailBackend):
    """Django's SMTP backend, keeping what it drops: the recipients the relay refused while it
    accepted the message for the others (smtplib returns them from `sendmail`).
    `recipients_refused` holds them for the last message sent, {address: (code, reply)}, so
    the outbox can say who did not get it instead of marking it sent to all."""

    recipients_refused: dict = {}

    def open(self):
        opened = super().open()
        if opened:
            sendmail = self.connection.sendmail

            def sendmail_keeping_refused(*args, **kwargs):
                self.recipients_refused = sendmail(*args, **kwargs) or {}
                return self.recipients_refused

            self.connection.sendmail = sendmail_keeping_refused
        return opened

    def send_messages(self, email_messages):
        self.recipients_refused = {}
        return super().send_messages(email_messages)
