"""Browser test of a team server: two users sign in through a real OpenID Connect provider.

The provider (tests/oidc, npm's ``oidc-provider``) and ``streamlit run app.py`` with a secrets
file whose ``[auth]`` section points at it run on free loopback ports. Alice and Bob sign in
through the provider's login form in their own browser contexts; neither sees the other's
private setups, a setup Alice shares with Bob is listed for him read-only, a link opens it,
and a reload (and a second browser) keeps the working setup.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests import oidc
from tests.e2e.conftest import (
    ROOT,
    _missing_browser,
    exceptions,
    wait_idle,
)

SLOW = 240_000


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    """A signed-in Ballast server and its provider; yields (server URL, provider)."""
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    oidc.require()
    port = oidc.free_port()
    url = f"http://127.0.0.1:{port}"
    with oidc.running(f"{url}/oauth2callback") as provider:
        folder = tmp_path_factory.mktemp("team")
        secrets = folder / "secrets.toml"
        secrets.write_text(provider.secrets_toml())
        log = folder / "server.log"
        env = {**os.environ, "BALLAST_CACHE_DIR": str(folder / "cache"),
               "BALLAST_DATA_DIR": str(folder / "data")}  # fmt: skip
        env.pop("BALLAST_DATABASE_URL", None)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                 "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"Streamlit did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
            yield url, provider
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def chromium(team_server, chromium_browser):
    """The test session's one browser (tests/e2e/conftest.py), with the team server started."""
    return chromium_browser


def new_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def sign_in(page, url: str, login: str) -> None:
    """Sign in through the provider's login form; wait for the signed-in home page."""
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, SLOW)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#login").wait_for(timeout=30_000)  # the provider's form
    page.fill("#login", login)
    page.fill("#password", oidc.USERS[login]["password"])
    page.click("#submit")
    page.wait_for_url(re.compile(re.escape(url) + r"/?(\?.*)?$"), timeout=30_000)
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, SLOW)
    page.get_by_text("Signed in as").wait_for(timeout=SLOW)


def go(page, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    page.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(page, SLOW)


def save(page, name: str) -> None:
    box = page.get_by_role("textbox", name="Save the current setup as")
    box.fill(name)
    page.get_by_role("button", name="Save setup").click()
    wait_idle(page, SLOW)
    page.get_by_text(f"Saved the setup as '{name}'").wait_for(timeout=SLOW)


def saved_setups(page) -> list[str]:
    """The setups the Report page offers (the options of its "Saved setup" box)."""
    box = page.get_by_role("combobox", name="Saved setup")
    if box.count() == 0:
        return []
    options = page.get_by_role("option")
    for _ in range(4):  # a click during a rerun's last render can be lost
        box.click()
        try:
            options.first.wait_for(timeout=5_000)
            break
        except Exception:  # noqa: BLE001  playwright's TimeoutError
            wait_idle(page, SLOW)
    names = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return names


def choose(page, option: str) -> None:
    saved_setups(page)  # opens and closes the list once it reacts
    page.get_by_role("combobox", name="Saved setup").click()
    page.get_by_role("option", name=option).click()
    wait_idle(page, SLOW)


def setup_link(page) -> str:
    return page.get_by_role("textbox", name=re.compile("^Link to this setup")).input_value()


def capital(page) -> str:
    box = page.get_by_role("spinbutton", name="Capital to invest")
    box.wait_for(timeout=SLOW)
    return box.input_value()


def set_capital(page, value: str) -> None:
    box = page.get_by_role("spinbutton", name="Capital to invest")
    box.fill(value)
    box.press("Enter")
    wait_idle(page, SLOW)


def test_two_users_private_shared_link_and_reload(team_server, chromium):
    url, _ = team_server
    alice = new_page(chromium)
    sign_in(alice, url, "alice")
    assert "alice@example.com" in alice.get_by_text("Signed in as").inner_text().replace(
        "\u2060", "")

    # Alice: a private setup, and a shared one with another capital.
    go(alice, url, "Report")
    save(alice, "Alice private")
    private_link = setup_link(alice)
    go(alice, url, "Allocation")
    set_capital(alice, "250000.00")
    go(alice, url, "Report")
    save(alice, "Alice shared")
    alice.get_by_role("textbox", name=re.compile("^With colleagues")).fill("bob@example.com")
    alice.get_by_role("button", name="Update sharing").click()
    wait_idle(alice, SLOW)
    alice.get_by_text("shared read-only with bob").first.wait_for(timeout=SLOW)
    shared_link = setup_link(alice)
    assert re.search(r"\?setup=[\w-]+$", shared_link), shared_link

    # Bob: his own private setup; Alice's shared one read-only, her private one not at all.
    bob = new_page(chromium)
    sign_in(bob, url, "bob")
    go(bob, url, "Report")
    save(bob, "Bob private")
    names = saved_setups(bob)
    assert "Bob private" in names
    assert "Alice shared (shared by alice@example.com)" in names
    assert not any("Alice private" in n for n in names)
    choose(bob, "Alice shared (shared by alice@example.com)")
    assert bob.get_by_role("button", name="Delete").count() == 0
    assert bob.get_by_role("button", name="Update sharing").count() == 0
    bob.get_by_text("Read-only: shared with you by").wait_for()
    bob.get_by_role("button", name="Load", exact=True).click()
    wait_idle(bob, SLOW)
    bob.get_by_text("Loaded the setup 'Alice shared'").wait_for(timeout=SLOW)
    go(alice, url, "Report")
    assert not any("Bob private" in n for n in saved_setups(alice))

    # A link opens the shared setup for Bob; Alice's private link shows him nothing of it.
    bob.goto(shared_link)
    bob.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(bob, SLOW)
    bob.get_by_text("Opened the setup 'Alice shared' from the link.").wait_for(timeout=SLOW)
    assert "setup=" not in bob.url
    go(bob, url, "Allocation")
    assert capital(bob) == "250000.00"
    bob.goto(private_link)
    bob.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(bob, SLOW)
    bob.get_by_text("The linked setup could not be opened").wait_for(timeout=SLOW)
    assert bob.get_by_text("Alice private").count() == 0

    # The working setup follows the user: a reload, and another browser, find it.
    go(bob, url, "Allocation")
    set_capital(bob, "123000.00")
    bob.reload()
    bob.wait_for_selector("[data-testid='stApp']", timeout=SLOW)
    wait_idle(bob, SLOW)
    assert capital(bob) == "123000.00"
    assert "session=" not in bob.url
    elsewhere = new_page(chromium)
    sign_in(elsewhere, url, "bob")
    go(elsewhere, url, "Allocation")
    assert capital(elsewhere) == "123000.00"
    for page in (alice, bob, elsewhere):
        assert exceptions(page) == 0
        assert "Traceback" not in page.content()

    # Log out: the provider ends its session too; the app asks for sign-in again.
    elsewhere.get_by_role("button", name="Log out").click()
    elsewhere.get_by_role("button", name=re.compile("sign me out", re.IGNORECASE)).click(
        timeout=30_000)  # the provider's confirmation
    elsewhere.wait_for_url(re.compile(re.escape(url) + r"/?(\?.*)?$"), timeout=30_000)
    wait_idle(elsewhere, SLOW)
    elsewhere.get_by_role("button", name="Sign in").wait_for(timeout=SLOW)
    assert elsewhere.get_by_text("Signed in as").count() == 0
