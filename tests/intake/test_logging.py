"""No log line carries the token of a receipt or status link, nor a status lookup's proof.

The lines are read where they are written: the stream of each handler LOGGING configures.
"""

import io
import logging
import threading
import urllib.error
import urllib.request

import pytest
from django.core import signing
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from consult.comments.status_links import SALT

pytestmark = pytest.mark.django_db

PROOF_EMAIL = "zhang@example.cn"


@pytest.fixture
def token():
    """A well-signed token for a comment that does not exist: its pages answer 404."""
    return signing.dumps({"t": "ABCDEFGH3K"}, salt=SALT, compress=True)


@pytest.fixture
def forged(token):
    """A token whose signature is wrong: refused before the database is asked."""
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


@pytest.fixture
def log_lines():
    """Everything the configured handlers write, as text."""
    names = ["", "django", "django.request", "django.server", "consult"]
    handlers = {
        handler
        for name in names
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler)
    }
    assert handlers, "LOGGING configures no stream handler"
    buffer = io.StringIO()
    previous = {handler: handler.setStream(buffer) for handler in handlers}
    yield buffer.getvalue
    for handler, stream in previous.items():
        handler.setStream(stream)


def assert_redacted(text, *secrets):
    assert text.strip(), "nothing was logged"
    for secret in secrets:
        assert secret not in text, text
    assert "[redacted]" in text, text


def test_a_404_on_a_status_link_logs_no_token(client, token, log_lines):
    for path in (f"/comments/{token}/", f"/comments/{token}/receipt/"):
        assert client.get(path).status_code == 404
    output = log_lines()
    assert "Not Found: /comments/[redacted]/" in output
    assert_redacted(output, token)


def test_a_400_and_a_405_on_a_status_link_log_no_token(client, token, log_lines):
    response = client.get(f"/comments/{token}/receipt/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert client.get(f"/comments/{token}/notify-on-report/").status_code == 405
    assert_redacted(log_lines(), token)


def test_our_own_messages_and_tracebacks_are_redacted(token, log_lines):
    logger = logging.getLogger("consult.anything")
    logger.warning("Receipt link http://testserver/comments/%s/receipt/ bounced", token)
    try:
        raise ValueError(f"cannot open /comments/{token}/")
    except ValueError:
        logger.exception("Failed")
    assert_redacted(log_lines(), token)


def test_runserver_request_lines_log_no_token_and_no_proof(forged, log_lines):
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        for path in (f"/comments/{forged}/", f"/api/comments/ABC/status?email={PROOF_EMAIL}"):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(base + path, timeout=10)
            assert answer.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    output = log_lines()
    assert '"GET /comments/[redacted]/ HTTP/1.1" 404' in output, output
    assert "/api/comments/ABC/status?email=[redacted]" in output, output
    assert_redacted(output, forged, PROOF_EMAIL)


def test_the_lookup_form_and_the_api_paths_keep_their_names():
    from consult.web.log_redaction import redact

    assert redact("Not Found: /comments/status/") == "Not Found: /comments/status/"
    assert redact('"GET /api/comments/7HK3MP9QXA/status HTTP/1.1"') == (
        '"GET /api/comments/7HK3MP9QXA/status HTTP/1.1"'
    )
    assert redact("Not Found: /staff/comments/12/") == "Not Found: /staff/comments/12/"
    assert (
        redact("/comments/.eJx:1a:b/receipt/?repeat=1") == "/comments/[redacted]/receipt/?repeat=1"
    )
    assert redact("see https://example.cn/comments/.eJx:1a:b") == (
        "see https://example.cn/comments/[redacted]"
    )
    assert redact("?phone_last4=5678&x=1") == "?phone_last4=[redacted]&x=1"
    assert redact("Not Found: /subscriptions/unsubscribe/eyJz:1a:b/") == (
        "Not Found: /subscriptions/unsubscribe/[redacted]/"
    )
    assert redact('"GET /subscriptions/confirm/eyJz:1a:b/ HTTP/1.1" 200') == (
        '"GET /subscriptions/confirm/[redacted]/ HTTP/1.1" 200'
    )
    assert redact("Not Found: /subscriptions/") == "Not Found: /subscriptions/"


def test_every_configured_handler_redacts(settings):
    from consult.web.log_redaction import RedactSecretLinks

    live = {
        handler.name: handler
        for name in ("", "django", "django.request", "django.server")
        for handler in logging.getLogger(name).handlers
        if handler.name in settings.LOGGING["handlers"]  # not pytest's own
    }
    assert set(live) == set(settings.LOGGING["handlers"])
    for handler in live.values():
        assert any(isinstance(f, RedactSecretLinks) for f in handler.filters), handler.name
