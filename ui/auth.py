"""Sign-in: Streamlit's own ``st.login`` / ``st.user`` with an OpenID Connect provider.

Two modes, chosen by the server's secrets (``.streamlit/secrets.toml``, or the files of the
``secrets.files`` option):

- no ``[auth]`` section: single-user local mode, as on a laptop. Nobody signs in,
  :func:`user` is None and the store is used without an owner.
- an ``[auth]`` section (``redirect_uri``, ``cookie_secret``, and ``client_id``,
  ``client_secret``, ``server_metadata_url``, or one ``[auth.<name>]`` table per provider):
  every page asks for sign-in first (:func:`require_sign_in`, from ``ui.state.init``), and
  :func:`user` is the signed-in user's e-mail address from the provider's ID token (its
  ``sub`` claim when it has no e-mail). Ballast authenticates nobody itself.

References
----------
Streamlit documentation, "User authentication and information" (``st.login``, ``st.user``,
``st.logout``); OpenID Connect Core 1.0, section 2 (ID token claims ``sub``, ``email``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

#: Keys of an ``[auth]`` table (or ``[auth.<name>]``) that name an identity provider.
_PROVIDER_KEYS = ("client_id", "server_metadata_url")
#: Query parameter of a link to a saved setup (kept across the sign-in page, see
#: :func:`require_sign_in`).
SETUP_PARAM = "setup"


def _auth_section() -> dict[str, Any] | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001  no secrets file, or one that does not parse
        # Streamlit raises its own error types here (missing file, bad TOML); either way
        # nothing configures sign-in, and the page must not show the server's paths.
        return None
    if section is None or not hasattr(section, "keys"):
        return None
    return {k: section[k] for k in section.keys()}


def providers() -> list[str]:
    """The configured identity providers, for ``st.login``: ``[]`` when sign-in is off.

    Returns
    -------
    list of str
        ``["default"]`` for the flat ``[auth]`` form, else the names of the ``[auth.<name>]``
        tables that name a provider (``client_id`` or ``server_metadata_url``).
    """
    section = _auth_section()
    if not section:
        return []
    if any(key in section for key in _PROVIDER_KEYS):
        return ["default"]
    return [name for name, value in section.items()
            if hasattr(value, "keys") and any(k in value for k in _PROVIDER_KEYS)]  # fmt: skip


def enabled() -> bool:
    """Whether the server is configured for sign-in (an ``[auth]`` section with a provider)."""
    return bool(providers())


def user() -> str | None:
    """The signed-in user's identity for the store, or None in single-user local mode.

    Returns
    -------
    str or None
        The ID token's ``email`` claim, lower-cased (the name colleagues share setups with),
        else its ``sub`` claim; None when sign-in is off or nobody is signed in.
    """
    if not enabled() or not st.user.get("is_logged_in", False):
        return None
    email = st.user.get("email")
    if isinstance(email, str) and email.strip():
        return email.strip().lower()
    sub = st.user.get("sub")
    return str(sub) if sub else None


def display_name() -> str:
    """How the signed-in user is named on the page (name and e-mail when both exist)."""
    name, ident = st.user.get("name"), user() or ""
    if isinstance(name, str) and name.strip() and name.strip().lower() != ident:
        return f"{name.strip()} ({ident})"
    return ident


def require_sign_in() -> None:
    """Stop the page with a sign-in screen unless sign-in is off or the user is signed in.

    Called first by ``ui.state.init`` on every page. The screen offers one button per
    configured provider (``st.login``). A link to a saved setup (``?setup=<id>``) is named
    on it: the provider sends the browser back to the home page, so the link is opened again
    after signing in.
    """
    names = providers()
    if not names or st.user.get("is_logged_in", False):
        return
    st.title("Ballast")
    st.subheader("Sign in")
    st.markdown("This Ballast server is shared by a team: sign in to see your setups and "
                "those shared with you.")  # fmt: skip
    if st.query_params.get(SETUP_PARAM):
        st.info("You opened a link to a saved setup: sign in, then open the link again.",
                icon=":material/link:")  # fmt: skip
    for name in names:
        label = "Sign in" if name == "default" else f"Sign in with {name}"
        if st.button(label, icon=":material/login:", key=f"auth_login_{name}", type="primary"):
            st.login(None if name == "default" else name)
    st.stop()


def account_sidebar() -> None:
    """The signed-in user and a log-out button in the sidebar (nothing in local mode)."""
    if user() is None:
        return
    with st.sidebar:
        st.caption(f":material/account_circle: Signed in as {_plain(display_name())}")
        if st.button("Log out", icon=":material/logout:", key="auth_logout"):
            st.logout()


def _plain(text: str) -> str:
    from ui.widgets import md_escape

    return md_escape(text)
