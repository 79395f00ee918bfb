"""The test OpenID Connect provider (tests/oidc) speaks the protocol Streamlit's sign-in uses.

Driven by Authlib's OAuth 2 client (the library behind ``st.login``): discovery, the
authorization code flow with PKCE (S256) through the login form, the token exchange and the ID
token's signature and claims checked against the provider's published keys.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests

from tests import oidc

REDIRECT = "http://127.0.0.1:9/oauth2callback"  # never called: the flow stops at the redirect


@pytest.fixture(scope="module")
def provider():
    oidc.require()
    with oidc.running(REDIRECT) as p:
        yield p


def _follow(session: requests.Session, response: requests.Response) -> requests.Response:
    """Follow redirects by hand until the page or the client's redirect URI."""
    while response.is_redirect:
        target = urljoin(response.url, response.headers["location"])
        if target.startswith(REDIRECT):
            response.url_reached = target  # type: ignore[attr-defined]
            return response
        response = session.get(target, allow_redirects=False, timeout=10)
    return response


def _sign_in(provider, login: str, password: str):
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    meta = requests.get(provider.metadata_url, timeout=10).json()
    client = OAuth2Session(provider.client_id, provider.client_secret,
                           scope="openid email profile", redirect_uri=REDIRECT,
                           code_challenge_method="S256")  # fmt: skip
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(16),
        prompt="select_account",  # as Streamlit asks
    )  # fmt: skip
    browser = requests.Session()
    form = _follow(browser, browser.get(url, allow_redirects=False, timeout=10))
    assert form.status_code == 200 and 'name="password"' in form.text
    action = urljoin(form.url, re.search(r'action="([^"]+)"', form.text).group(1))
    answer = browser.post(action, data={"login": login, "password": password},
                          allow_redirects=False, timeout=10)  # fmt: skip
    if answer.status_code == 401:
        return None, answer
    done = _follow(browser, answer)
    callback = done.url_reached
    query = parse_qs(urlparse(callback).query)
    assert query["state"] == [state]
    token = client.fetch_token(meta["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)  # fmt: skip
    return (meta, token), answer


def test_discovery(provider):
    meta = requests.get(provider.metadata_url, timeout=10).json()
    assert meta["issuer"] == provider.issuer
    assert "code" in meta["response_types_supported"]
    assert "S256" in meta["code_challenge_methods_supported"]
    assert {"openid", "email", "profile"} <= set(meta["scopes_supported"])
    assert meta["end_session_endpoint"].startswith(provider.issuer)


@pytest.mark.parametrize("login", sorted(oidc.USERS))
def test_code_flow_gives_a_signed_id_token_with_the_users_email(provider, login):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    (meta, token), _ = _sign_in(provider, login, oidc.USERS[login]["password"])
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys).claims  # raises on a bad signature
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer},
                          aud={"essential": True, "value": provider.client_id},
                          exp={"essential": True}).validate(claims)  # fmt: skip
    assert claims["sub"] == login
    assert claims["email"] == oidc.USERS[login]["email"]
    assert claims["name"] == oidc.USERS[login]["name"]


def test_wrong_password_is_refused(provider):
    result, answer = _sign_in(provider, "alice", oidc.USERS["bob"]["password"])
    assert result is None
    assert "Wrong username or password" in answer.text
