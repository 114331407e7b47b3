"""Who songrec is to Spotify: the configuration, the 0600 token file and spotipy's auth managers.

spotipy logs request headers and bodies at DEBUG, so importing this module also installs a filter that
redacts credentials from spotipy's loggers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import spotipy
from spotipy.cache_handler import CacheHandler, MemoryCacheHandler
from spotipy.exceptions import SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

from songrec import settings as songrec_config
from songrec.domain import SpotifyAuthError, SpotifyError, SpotifyNotConfigured

log = logging.getLogger(__name__)

DEFAULT_API_PREFIX = "https://api.spotify.com/v1/"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
USER_SCOPES = ("playlist-modify-public", "playlist-modify-private")
LOGIN_HINT = "run `songrec spotify-login` again"


@dataclass(frozen=True)
class SpotifyConfig:
    """Where and as whom to talk to Spotify. Secrets are kept out of repr so they never reach a log."""

    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    token_cache_path: Path = field(default_factory=lambda: songrec_config.home() / "spotify_token.json")
    api_prefix: str = DEFAULT_API_PREFIX
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    market: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SpotifyConfig:
        """SPOTIFY_CLIENT_ID/SECRET/REDIRECT_URI as Spotify names them; the rest let tests point at a fake.

        Parsed by songrec.settings; the token file defaults to this process's SONGREC_HOME.
        """
        env = songrec_config.get_settings() if environ is None else songrec_config.Settings.from_env(environ)
        return cls(
            client_id=env.spotify_client_id,
            client_secret=env.spotify_client_secret,
            redirect_uri=env.spotify_redirect_uri or DEFAULT_REDIRECT_URI,
            token_cache_path=env.spotify_token_cache or songrec_config.home() / "spotify_token.json",
            api_prefix=env.spotify_api_prefix or DEFAULT_API_PREFIX,
            accounts_url=env.spotify_accounts_url or DEFAULT_ACCOUNTS_URL,
            market=env.spotify_market,
        )

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def require(self) -> None:
        """Raise SpotifyNotConfigured naming exactly which variables to set."""
        missing = [
            name
            for name, value in (
                ("SPOTIFY_CLIENT_ID", self.client_id),
                ("SPOTIFY_CLIENT_SECRET", self.client_secret),
            )
            if not value
        ]
        if missing:
            raise SpotifyNotConfigured(
                f"Spotify isn't set up: set {' and '.join(missing)} in the environment (create an app at "
                "https://developer.spotify.com/dashboard and add "
                f"{self.redirect_uri} as its redirect URI)."
            )

    @property
    def token_url(self) -> str:
        return self.accounts_url.rstrip("/") + "/api/token"

    @property
    def authorize_url(self) -> str:
        return self.accounts_url.rstrip("/") + "/authorize"

    @property
    def prefix(self) -> str:
        return self.api_prefix if self.api_prefix.endswith("/") else self.api_prefix + "/"


# --------------------------------------------------------------------------------------------- secrets


class _RedactSecrets(logging.Filter):
    """spotipy logs request headers and bodies at DEBUG (Basic/Bearer credentials, codes, refresh tokens)."""

    _patterns = (
        re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"),
        re.compile(
            r"""(['"]?(?:access_token|refresh_token|code|client_secret|client_id)['"]?\s*[:=]\s*['"]?)[^'"\s,}&]+"""
        ),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still better logged than dropped
            return True
        redacted = message
        for pattern in self._patterns:
            redacted = pattern.sub(r"\1[redacted]", redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTOR = _RedactSecrets()
for _name in ("spotipy.client", "spotipy.oauth2", "spotipy.cache_handler", "spotipy.util"):
    _logger = logging.getLogger(_name)
    if _REDACTOR not in _logger.filters:
        _logger.addFilter(_REDACTOR)


class SecureTokenFile(CacheHandler):
    """Token cache file written atomically with 0600 permissions (it holds a long-lived refresh token)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get_cached_token(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("Spotify token cache %s is unreadable; ignoring it", self.path)
            return None
        return data if isinstance(data, dict) else None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(token_info, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------------------------- auth managers


class AppAuth(SpotifyClientCredentials):
    """Client-credentials flow for read-only look-ups; a lock stops concurrent workers fetching twice."""

    def __init__(self, cfg: SpotifyConfig, timeout: float) -> None:
        super().__init__(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            requests_session=requests.Session(),
            requests_timeout=timeout,
            cache_handler=MemoryCacheHandler(),  # the default writes a .cache file into the CWD
        )
        self.OAUTH_TOKEN_URL = cfg.token_url
        self._lock = threading.Lock()

    def get_access_token(self, as_dict: bool = False, check_cache: bool = True) -> Any:
        with self._lock:
            return super().get_access_token(as_dict=as_dict, check_cache=check_cache)


class UserAuth(SpotifyOAuth):
    """Authorization-code flow backed by the stored token; never prompts (the bot has no terminal)."""

    def __init__(self, cfg: SpotifyConfig, timeout: float, state: str | None = None) -> None:
        super().__init__(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            redirect_uri=cfg.redirect_uri,
            state=state,
            scope=" ".join(USER_SCOPES),
            requests_session=requests.Session(),
            requests_timeout=timeout,
            open_browser=False,
            cache_handler=SecureTokenFile(cfg.token_cache_path),
        )
        self.OAUTH_TOKEN_URL = cfg.token_url
        self.OAUTH_AUTHORIZE_URL = cfg.authorize_url
        self._lock = threading.Lock()

    def get_auth_response(self, open_browser: bool | None = None) -> str:
        # spotipy falls back to an interactive prompt when no usable token is stored.
        raise SpotifyAuthError(
            "No Spotify login with playlist permissions is stored; run `songrec spotify-login` once."
        )

    def get_access_token(
        self, code: str | None = None, as_dict: bool = False, check_cache: bool = True
    ) -> Any:
        with self._lock:
            return super().get_access_token(code=code, as_dict=as_dict, check_cache=check_cache)


def spotipy_client(cfg: SpotifyConfig, auth_manager: Any, timeout: float) -> spotipy.Spotify:
    # retries=0/status_retries=0 document intent; the plain Session is what actually keeps urllib3's
    # Retry adapter (and its unbounded Retry-After sleeps) out, so our async retry loop is in charge.
    client = spotipy.Spotify(
        auth_manager=auth_manager,
        requests_session=requests.Session(),
        requests_timeout=timeout,
        retries=0,
        status_retries=0,
    )
    client.prefix = cfg.prefix  # spotipy 2.26 has no prefix argument; the attribute is what it reads
    return client


def translate_oauth_error(exc: SpotifyOauthError) -> SpotifyError:
    """A token-endpoint refusal as a SpotifyAuthError that says what the operator should do."""
    if exc.error == "invalid_grant":
        return SpotifyAuthError(f"Your Spotify authorization has expired or was revoked; {LOGIN_HINT}.")
    if exc.error == "invalid_client":
        return SpotifyAuthError(
            "Spotify rejected the app credentials; check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."
        )
    return SpotifyAuthError(f"Spotify authorization failed ({exc.error}); {LOGIN_HINT}.")
