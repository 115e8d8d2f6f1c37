"""Sessions in the database, which never look up a key no session could have.

Django makes keys of 32 lowercase letters and digits, and before a lookup checks only that a
key has eight characters or more: the cookie `sessionid="\000abcdefghij"` (a NUL once the
cookie's octal escape is read) went to PostgreSQL, which refuses NUL in text, and every page
and API call that reads the session answered 500.
"""

import string

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARACTERS = frozenset(string.ascii_lowercase + string.digits)
_KEY_LENGTH_STORED = 40  # django_session.session_key


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        """A key Django could have made; any other is no session (a fresh one if needed)."""
        return bool(key) and 8 <= len(key) <= _KEY_LENGTH_STORED and set(key) <= _KEY_CHARACTERS
