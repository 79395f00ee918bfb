"""A real OpenID Connect provider for the sign-in tests: npm's ``oidc-provider`` on 127.0.0.1.

``provider.mjs`` (beside this file) runs the library with one confidential client and the test
accounts of :data:`USERS`, behind a login form that checks their passwords. Its packages are
pinned in ``package.json`` / ``package-lock.json`` and installed with ``npm ci`` in this folder
(``.ci/run`` does it, and :func:`missing` when they are absent). Without node or the packages
the tests that need the provider skip with a reason, except under CI (``CI=true``), where that
is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

#: Test accounts: login -> password, e-mail and name (the ID token's claims).
USERS: dict[str, dict[str, str]] = {
    "alice": {"password": "alice-pw-1", "email": "alice@example.com", "name": "Alice Analyst"},
    "bob": {"password": "bob-pw-2", "email": "bob@example.com", "name": "Bob Banker"},
}


@dataclass(frozen=True)
class Provider:
    """A running test provider.

    Attributes
    ----------
    issuer : str
        Its issuer URL, ``http://127.0.0.1:<port>``.
    client_id, client_secret : str
        The registered client's credentials.
    redirect_uri : str
        The client's registered redirect URI.
    users : dict
        The accounts it knows (:data:`USERS`).
    """

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    users: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL."""
        return f"{self.issuer}/.well-known/openid-configuration"

    def secrets_toml(self, cookie_secret: str = "ballast-test-cookie-secret-0123456789") -> str:
        """A Streamlit ``secrets.toml`` whose ``[auth]`` section signs in with this provider."""
        return (
            "[auth]\n"
            f'redirect_uri = "{self.redirect_uri}"\n'
            f'cookie_secret = "{cookie_secret}"\n'
            f'client_id = "{self.client_id}"\n'
            f'client_secret = "{self.client_secret}"\n'
            f'server_metadata_url = "{self.metadata_url}"\n'
            # Authlib's HTTP client (httpx) waits 5 s by default for the provider's discovery
            # document and token; a test provider on a loaded two-core machine can take longer.
            "client_kwargs = { timeout = 60 }\n"
        )


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (Debian: apt-get install -y nodejs npm)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir() and shutil.which("npm"):
        # The README's test command installs only Python packages: fetch the pinned ones here.
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                       capture_output=True, timeout=300, check=False)  # fmt: skip
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "the test provider's packages are not installed (cd tests/oidc && npm ci)"
    return None


def require() -> None:
    """Skip the test when the provider cannot run; under ``CI=true`` fail instead."""
    reason = missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"The sign-in tests cannot run under CI: {reason}")
        pytest.skip(reason)


@contextmanager
def running(redirect_uri: str, users: dict[str, dict[str, str]] | None = None,
            logout_uri: str | None = None) -> Iterator[Provider]:  # fmt: skip
    """Start the provider on a free loopback port for one client; stop it afterwards.

    Parameters
    ----------
    redirect_uri : str
        The client's redirect URI (Streamlit's ``http://127.0.0.1:PORT/oauth2callback``).
    users : dict, optional
        Accounts (default :data:`USERS`).
    logout_uri : str, optional
        Where the end-session endpoint may send the browser back (default the redirect URI).
    """
    users = USERS if users is None else users
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}", "ballast-test",
                        "ballast-test-client-secret", redirect_uri, users)  # fmt: skip
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_CLIENT_ID": provider.client_id,
           "OIDC_CLIENT_SECRET": provider.client_secret, "OIDC_REDIRECT_URI": redirect_uri,
           "OIDC_LOGOUT_URI": logout_uri or redirect_uri, "OIDC_USERS": json.dumps(users),
           "NODE_NO_WARNINGS": "1"}  # fmt: skip
    proc = subprocess.Popen(["node", str(HERE / "provider.mjs")], cwd=HERE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(provider.metadata_url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise RuntimeError(f"The test OpenID Connect provider did not start:\n{out}")
            time.sleep(0.2)
        yield provider
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()
