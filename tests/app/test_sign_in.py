"""Sign-in (ui.auth) and per-user setups (ui.team) in AppTest, on the real store.

AppTest cannot run the OpenID Connect redirect; it seeds ``st.user`` the way Streamlit fills
it from the ID token (``AppTest.user``). The browser test (tests/e2e/test_team_browser.py)
signs in through a real provider.
"""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-0123456789abcdef",
    "client_id": "ballast",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "email": "Alice@Example.com", "name": "Alice Analyst",
         "sub": "alice"}  # fmt: skip
BOB = {"is_logged_in": True, "email": "bob@example.com", "name": "Bob Banker", "sub": "bob"}


def run(page: str = "app.py", user: dict | None = None, query: dict | None = None,
        auth: bool = True, **setup) -> AppTest:  # fmt: skip
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    if auth:
        at.secrets["auth"] = AUTH
    if user is not None:
        at.user = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if setup:  # after the first run, which restores the user's working setup
        for key, value in setup.items():
            at.session_state[key] = value
        at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("info", "warning", "success", "error") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def submit(at: AppTest, label: str):
    return next(b for b in at.get("form_submit_button") if b.label == label)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def save(at: AppTest, name: str) -> AppTest:
    at.text_input(key="team_save_name").input(name)
    submit(at, "Save setup").click().run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest) -> list[str]:
    table = next((d for d in at.dataframe), None)
    return [] if table is None else list(table.value["Name"])


@pytest.mark.parametrize("page", ["app.py", "pages/2_Allocation.py", "pages/7_Report.py"])
def test_signed_out_sees_only_the_sign_in_screen(page):
    at = run(page)
    assert [b.label for b in at.button] == ["Sign in"]
    assert "sign in to see your setups" in texts(at)
    assert not at.dataframe and not at.metric  # nothing of the app, nobody's data


def test_a_link_is_named_on_the_sign_in_screen():
    at = run(query={"setup": "abc123"})
    assert "open the link again" in texts(at)


def test_local_mode_has_no_sign_in():
    at = run(auth=False)
    assert "Sign in" not in [b.label for b in at.button]
    assert "Log out" not in [b.label for b in at.sidebar.button]


def test_signed_in_user_is_named_with_a_log_out_button():
    at = run(user=ALICE)
    caption = " ".join(c.value for c in at.sidebar.caption).replace("\u2060", "")
    assert "Alice Analyst (alice@example.com)" in caption
    assert "Log out" in [b.label for b in at.sidebar.button]


def test_each_user_lists_only_own_and_shared_setups():
    mine, theirs = unique("Alice private"), unique("Bob private")
    alice = save(run("pages/7_Report.py", ALICE), mine)
    assert mine in listed(alice)
    bob = save(run("pages/7_Report.py", BOB), theirs)
    assert theirs in listed(bob) and mine not in listed(bob)
    assert theirs not in listed(run("pages/7_Report.py", ALICE))


def setup_id(user: dict, name: str) -> str:
    from ui import team

    return next(i.id for i in team.store().list(user["email"].lower()) if i.name == name)


def share(at: AppTest, colleagues: str = "", team: bool = False) -> AppTest:
    chosen = at.selectbox(key="team_setup_choice").value
    at.text_input(key=f"team_share_with_{chosen}").input(colleagues)
    if team:
        at.checkbox(key=f"team_share_team_{chosen}").check()
    submit(at, "Update sharing").click().run()
    assert not at.exception, at.exception
    return at


def test_shared_setup_is_read_only_for_the_reader_and_loads():
    name = unique("Alice shared")
    alice = share(save(run("pages/7_Report.py", ALICE, capital=250_000.0), name),
                  "bob@example.com")  # fmt: skip
    assert "shared read-only with bob@example.com" in texts(alice).replace("\u2060", "")
    bob = run("pages/7_Report.py", BOB)
    assert name in listed(bob)
    bob.selectbox(key="team_setup_choice").select(setup_id(BOB, name)).run()
    assert "Delete" not in [b.label for b in bob.button]
    assert "Update sharing" not in [b.label for b in bob.get("form_submit_button")]
    assert "Read-only" in texts(bob)
    button(bob, "Load").click().run()
    assert not bob.exception
    assert bob.session_state["capital"] == 250_000.0
    assert "save it to keep a copy of your own" in texts(bob)


def test_shared_with_the_team_reaches_every_signed_in_user():
    name = unique("Team wide")
    share(save(run("pages/7_Report.py", ALICE), name), team=True)
    carol = {"is_logged_in": True, "email": "carol@example.com", "name": "Carol"}
    assert name in listed(run("pages/7_Report.py", carol))


def test_bad_colleague_address_is_named():
    at = share(save(run("pages/7_Report.py", ALICE), unique("Bad share")), "bob, x@y")
    assert "Not e-mail addresses: 'bob'" in texts(at)


def test_a_link_opens_the_setup_and_leaves_the_address():
    name = unique("Linked")
    save(run("pages/7_Report.py", ALICE, capital=333_000.0), name)
    at = run(user=ALICE, query={"setup": setup_id(ALICE, name)})
    assert at.session_state["capital"] == 333_000.0
    assert f"Opened the setup '{name}' from the link." in texts(at)
    assert "setup" not in at.query_params


def test_a_link_to_another_users_private_setup_shows_nothing_of_it():
    name = unique("Alice secret")
    save(run("pages/7_Report.py", ALICE, capital=444_000.0), name)
    at = run(user=BOB, query={"setup": setup_id(ALICE, name)})
    assert at.session_state["capital"] != 444_000.0
    shown = texts(at)
    assert "could not be opened" in shown and name not in shown


def test_working_setup_follows_the_user_to_a_new_session():
    first = run(user=ALICE)
    first.session_state["capital"] = 123_456.0
    first.run()
    assert run(user=ALICE).session_state["capital"] == 123_456.0
    assert run(user=BOB).session_state["capital"] != 123_456.0
    assert "session" not in run(user=ALICE).query_params  # the work is not in the address
