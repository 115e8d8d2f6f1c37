import pytest

from consult.testing.services import SmtpSink


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback, with production's backend (settings.py with EMAIL_HOST
    set) pointed at it: a refusal reaches delivery as smtplib reports it, not as a stub says."""
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "consult.mail.SMTPBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
            "127.0.0.1",
            sink.port,
            5,
        )
        yield sink
