"""Working sessions: the setup a browser session is working on, kept so that a reload finds it.

Conventions
-----------
A working session is stored like a saved setup (:mod:`core.setups`: same JSON envelope, same
validation on load), in its own SQLite file ``sessions.sqlite3`` of the user data folder
(:func:`core.setups.default_data_dir`), under a *token* instead of a name. Tokens are random
and unguessable (:func:`new_token`, 256 bits from :mod:`secrets`); whoever holds one can read
that session's setup, so they are never listed or shown, and records expire after
:data:`MAX_AGE`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from core.setups import SQLiteRecordFile

__all__ = ["MAX_AGE", "SessionStore", "new_token", "valid_token"]

#: Records not written for this long are deleted (:meth:`SessionStore.purge`).
MAX_AGE = dt.timedelta(days=30)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    """A new session token: 32 random bytes, URL-safe base64 (43 characters).

    References
    ----------
    Python documentation, ``secrets.token_urlsafe``; OWASP Session Management Cheat Sheet
    (session ID entropy of at least 64 bits).
    """
    return secrets.token_urlsafe(32)


def valid_token(token: object) -> bool:
    """Whether ``token`` has the shape of a token from :func:`new_token`."""
    return isinstance(token, str) and bool(_TOKEN.match(token))


class SessionStore(SQLiteRecordFile):
    """Working sessions' setups by token, in ``sessions.sqlite3`` (see the module docstring).

    Parameters
    ----------
    path : str or Path, optional
        The database file, or a folder to hold it; default the user data folder.
    """

    FILENAME = "sessions.sqlite3"

    def purge(self, max_age: dt.timedelta = MAX_AGE) -> None:
        """Delete the records not written for ``max_age``.

        Raises
        ------
        core.exceptions.SetupError
            If the file is damaged or cannot be written.
        """
        cutoff = (dt.datetime.now(dt.UTC) - max_age).isoformat(timespec="microseconds")
        self._write([("DELETE FROM setups WHERE saved_at < ?", (cutoff,))])
