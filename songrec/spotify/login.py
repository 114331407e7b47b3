"""`songrec spotify-login`: the operator's one-time authorization-code login, stored as a 0600 token file.

The bot never prompts; it only reads the token this flow stores (see `UserAuth`), and playlist export
needs it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from songrec.domain import SpotifyAuthError, SpotifyError, SpotifyUnavailable
from songrec.spotify.auth import LOGIN_HINT, SpotifyConfig, UserAuth, spotipy_client, translate_oauth_error


def parse_redirect(response: str, expected_state: str | None) -> str:
    """Pull the authorization code out of the pasted redirect URL (or accept a bare code)."""
    text = response.strip().strip("<>").strip()
    if not text:
        raise SpotifyAuthError(f"Nothing was pasted; {LOGIN_HINT}.")
    if "?" not in text and "=" not in text and "/" not in text:
        return text
    query = parse_qs(urlsplit(text).query)
    if "error" in query:
        raise SpotifyAuthError(f"Spotify said “{query['error'][0]}” (was access declined?); {LOGIN_HINT}.")
    if expected_state is not None and query.get("state", [expected_state])[0] != expected_state:
        raise SpotifyAuthError(f"That redirect belongs to a different login attempt; {LOGIN_HINT}.")
    code = query.get("code", [""])[0]
    if not code:
        raise SpotifyAuthError(f"The pasted URL has no ?code=...; {LOGIN_HINT}.")
    return code


def spotify_login(
    cfg: SpotifyConfig | None = None,
    *,
    response: str | None = None,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[[str], None] = print,
    timeout: float = 10.0,
) -> Path:
    """One-time authorization-code setup for `songrec spotify-login`; returns the 0600 token file path.

    Prints the authorize URL; the user approves, gets redirected to SPOTIFY_REDIRECT_URI (nothing needs to
    listen there) and pastes the URL from the address bar back, or just the code.
    """
    cfg = cfg or SpotifyConfig.from_env()
    cfg.require()
    state = secrets.token_urlsafe(16)
    auth = UserAuth(cfg, timeout, state=state)
    print_fn("Open this URL, approve access, then paste the address you are redirected to:")
    print_fn(auth.get_authorize_url(state))
    pasted = response if response is not None else input_fn("Redirected URL (or code): ")
    code = parse_redirect(pasted, state)
    try:
        auth.get_access_token(code=code, check_cache=False)
    except SpotifyOauthError as exc:
        if exc.error == "invalid_grant":
            raise SpotifyAuthError(
                f"Spotify rejected that code (codes are single-use and expire within minutes); {LOGIN_HINT}."
            ) from None
        raise translate_oauth_error(exc) from None
    except requests.RequestException as exc:
        raise SpotifyUnavailable("Couldn't reach Spotify to finish the login; try again.") from exc
    os.chmod(cfg.token_cache_path, 0o600)
    try:
        me = spotipy_client(cfg, auth, timeout).current_user() or {}
        who = me.get("display_name") or me.get("id") or "your account"
    except (SpotifyException, requests.RequestException):
        who = "your account"
    print_fn(f"Logged in to Spotify as {who}; token stored in {cfg.token_cache_path} (mode 0600).")
    return cfg.token_cache_path


def spotify_login_main() -> int:
    """Entry point for the CLI: friendly message and exit code instead of a traceback."""
    try:
        spotify_login()
    except SpotifyError as exc:
        print(exc)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\nLogin cancelled.")
        return 1
    return 0
