"""Working-session store (core.sessions): unguessable tokens, records that expire."""

from __future__ import annotations

import datetime as dt

from core import sessions


def test_tokens_are_long_random_and_url_safe():
    tokens = {sessions.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(sessions.valid_token(t) and len(t) == 43 for t in tokens)
    for bad in ("", "x" * 42, "x" * 44, "a/" * 21 + "a", None, 123, "../../etc/passwd"):
        assert not sessions.valid_token(bad)


def test_purge_deletes_only_old_records(tmp_path):
    store = sessions.SessionStore(tmp_path)
    assert store.path.name == "sessions.sqlite3"
    defaults = {"capital": 100_000.0}
    old, new = sessions.new_token(), sessions.new_token()
    store.save(old, {"capital": 1.0}, defaults)
    store.save(new, {"capital": 2.0}, defaults)
    store.purge(dt.timedelta(days=30))
    assert set(store.names()) == {old, new}
    store.purge(dt.timedelta(0))
    assert store.names() == []
