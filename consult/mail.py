"""A file mail backend that writes one .eml file per message, so a person can open what was sent."""

import itertools
import os
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
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
