"""songrec's configuration: every environment variable it reads, parsed and checked in one place.

`Settings.from_env()` turns the environment into one frozen record, so a bad value fails at start-up
with one line naming the variable instead of deep inside a request. `get_settings()` is the cached
copy the code uses; the path helpers (home(), data_dir(), artifacts_dir(), database_path()) sit on it.
docs/configuration.md documents every variable; tests/test_settings.py keeps the two in step.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from songrec.domain import SettingsError

log = logging.getLogger("songrec.settings")

LogFormat = Literal["kv", "json"]
TrainingFault = Literal["crash", "oom"]

LOG_FORMATS: tuple[LogFormat, ...] = ("kv", "json")
TRAINING_FAULTS: tuple[TrainingFault, ...] = ("crash", "oom")
TRUE_WORDS = ("1", "on", "true", "yes")
FALSE_WORDS = ("0", "off", "false", "no")
#: Far above any real need (Discord requires a shard per 2,500 guilds); catches typos like 1600000.
MAX_SHARDS = 4096
MAX_TRAINING_THREADS = 1024
MAX_PLAN_PROCESSES = 64

#: Every variable `Settings.from_env` reads (the cache key of get_settings; the doc's checklist).
ENV_NAMES: tuple[str, ...] = (
    "SONGREC_HOME",
    "SONGREC_DATA",
    "SONGREC_DB",
    "SONGREC_DATABASE_URL",
    "SONGREC_REDIS_URL",
    "SONGREC_CATALOG_URL",
    "SONGREC_CATALOG_SHA256",
    "SONGREC_LOG_LEVEL",
    "SONGREC_LOG_FORMAT",
    "SONGREC_METRICS_PORT",
    "SONGREC_METRICS_ADDR",
    "SONGREC_PLAN_PROCESSES",
    "DISCORD_TOKEN",
    "DEV_GUILD_ID",
    "SONGREC_SHARDS",
    "SONGREC_SHARD_IDS",
    "SONGREC_RETRAIN",
    "SONGREC_RETRAIN_INTERVAL_S",
    "SONGREC_RETRAIN_CHECK_S",
    "SONGREC_RETRAIN_MIN_FEEDBACK",
    "SONGREC_RETRAIN_TIMEOUT_S",
    "SONGREC_TRAINING_THREADS",
    "SONGREC_TRAINING_NICE",
    "SONGREC_TRAINING_FAULT",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "SPOTIFY_REDIRECT_URI",
    "SPOTIFY_TOKEN_CACHE",
    "SPOTIFY_API_PREFIX",
    "SPOTIFY_ACCOUNTS_URL",
    "SPOTIFY_MARKET",
)


def _default_home() -> Path:
    return Path.home() / ".songrec"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment asks of songrec. None means "not set: the reading module's default"."""

    # paths and database
    home: Path = field(default_factory=_default_home)  # SONGREC_HOME
    data: Path | None = None  # SONGREC_DATA as given; data_dir() also checks that it is a folder
    db: Path | None = None  # SONGREC_DB; None: home / songrec.sqlite3
    database_url: str | None = None  # SONGREC_DATABASE_URL; None: the SQLite file above
    redis_url: str | None = None  # SONGREC_REDIS_URL; None: cooldowns, de-duplication, locks per process
    # catalogue download (None: the public TidyTuesday CSV and its known hash)
    catalog_url: str | None = None
    catalog_sha256: str | None = None
    # logging and metrics
    log_level: str | None = None  # a logging level name; None: the process's default (bot INFO, CLI WARNING)
    log_format: LogFormat = "kv"
    metrics_port: int | None = None  # None: no metrics endpoint
    metrics_addr: str = "0.0.0.0"
    # serving
    plan_processes: int | None = None  # None: one per CPU core, at most 4 (config.serving_plan_processes)
    # Discord and sharding
    discord_token: str | None = field(default=None, repr=False)
    dev_guild_id: int | None = None
    shards: int | Literal["auto"] | None = None  # None: one plain, unsharded bot
    shard_ids: tuple[int, ...] | None = None  # None: every shard in 0..shards-1
    # training (retrain_*: None means the scheduler's default)
    retrain: bool = True
    retrain_interval_s: float | None = None
    retrain_check_s: float | None = None
    retrain_min_feedback: int | None = None
    retrain_timeout_s: float | None = None
    training_threads: int | None = None  # None: half the cores
    training_nice: int = 10
    training_fault: TrainingFault | None = None  # tests only: make the training job die
    # Spotify (None: the client's defaults)
    spotify_client_id: str | None = field(default=None, repr=False)
    spotify_client_secret: str | None = field(default=None, repr=False)
    spotify_redirect_uri: str | None = None
    spotify_token_cache: Path | None = None  # None: home / spotify_token.json
    spotify_api_prefix: str | None = None
    spotify_accounts_url: str | None = None
    spotify_market: str | None = None

    @property
    def database_path(self) -> Path:
        return self.db if self.db is not None else self.home / "songrec.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; SettingsError (one line, naming the variable) on a bad value."""
        env = _Env(os.environ if environ is None else environ)
        shards, shard_ids = _shards(env)
        return cls(
            home=env.path("SONGREC_HOME") or _default_home(),
            data=env.path("SONGREC_DATA"),
            db=env.path("SONGREC_DB"),
            database_url=env.database_url("SONGREC_DATABASE_URL"),
            redis_url=env.redis_url("SONGREC_REDIS_URL"),
            catalog_url=env.url("SONGREC_CATALOG_URL", schemes=("http", "https", "file")),
            catalog_sha256=env.sha256("SONGREC_CATALOG_SHA256"),
            log_level=env.log_level("SONGREC_LOG_LEVEL"),
            log_format=cast(LogFormat, env.choice("SONGREC_LOG_FORMAT", LOG_FORMATS) or "kv"),
            metrics_port=env.port("SONGREC_METRICS_PORT"),
            metrics_addr=env.text("SONGREC_METRICS_ADDR") or "0.0.0.0",
            plan_processes=env.integer("SONGREC_PLAN_PROCESSES", 0, MAX_PLAN_PROCESSES),
            discord_token=env.text("DISCORD_TOKEN"),
            dev_guild_id=env.guild_id("DEV_GUILD_ID"),
            shards=shards,
            shard_ids=shard_ids,
            retrain=env.flag("SONGREC_RETRAIN", default=True),
            retrain_interval_s=env.lenient_seconds("SONGREC_RETRAIN_INTERVAL_S"),
            retrain_check_s=env.lenient_seconds("SONGREC_RETRAIN_CHECK_S"),
            retrain_min_feedback=_whole(env.lenient_seconds("SONGREC_RETRAIN_MIN_FEEDBACK")),
            retrain_timeout_s=env.lenient_seconds("SONGREC_RETRAIN_TIMEOUT_S"),
            training_threads=env.integer("SONGREC_TRAINING_THREADS", 1, MAX_TRAINING_THREADS),
            training_nice=_default(env.integer("SONGREC_TRAINING_NICE", 0, 19), 10),
            training_fault=cast(
                "TrainingFault | None", env.choice("SONGREC_TRAINING_FAULT", TRAINING_FAULTS)
            ),
            spotify_client_id=env.text("SPOTIFY_CLIENT_ID"),
            spotify_client_secret=env.text("SPOTIFY_CLIENT_SECRET"),
            spotify_redirect_uri=env.url("SPOTIFY_REDIRECT_URI"),
            spotify_token_cache=env.path("SPOTIFY_TOKEN_CACHE"),
            spotify_api_prefix=env.url("SPOTIFY_API_PREFIX"),
            spotify_accounts_url=env.url("SPOTIFY_ACCOUNTS_URL"),
            spotify_market=env.market("SPOTIFY_MARKET"),
        )


# --------------------------------------------------------------------------------------------- parsing


def _shown(raw: str) -> str:
    return repr(raw[:40])


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "①".isdigit() is True, but int("①") raises


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


class _Env:
    """One parser per kind of value; each returns None for an unset or blank variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str) -> str | None:
        return (self.environ.get(name) or "").strip() or None

    def path(self, name: str) -> Path | None:
        raw = self.text(name)
        return Path(raw).expanduser() if raw else None

    def integer(self, name: str, low: int, high: int) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not _number(raw) or not low <= int(raw) <= high:
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {_shown(raw)}.")
        return int(raw)

    def port(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not _number(raw) or not 0 <= int(raw) <= 65535:
            raise SettingsError(f"{name} must be a port number (0-65535), not {_shown(raw)}.")
        return int(raw)

    def guild_id(self, name: str) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not _number(raw):
            raise SettingsError(
                f"{name} must be a server id (digits only; right-click the server with Developer Mode on "
                f"and choose Copy Server ID), not {_shown(raw)}."
            )
        return int(raw)

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {_shown(raw)}.")
        return raw.lower()

    def log_level(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.upper() not in logging.getLevelNamesMapping():
            raise SettingsError(
                f"{name} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {_shown(raw)}."
            )
        return raw.upper()

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        word = raw.lower()
        if word not in TRUE_WORDS + FALSE_WORDS:
            raise SettingsError(
                f"{name} must be on or off ({'/'.join(TRUE_WORDS + FALSE_WORDS)}), not {_shown(raw)}."
            )
        return word in TRUE_WORDS

    def url(self, name: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        scheme, sep, rest = raw.partition("://")
        if not sep or scheme.lower() not in schemes or not rest:
            raise SettingsError(f"{name} must be a {' or '.join(schemes)} URL, not {_shown(raw)}.")
        return raw

    def database_url(self, name: str) -> str | None:
        """postgresql://user@host:port/db (or postgres://), or sqlite:///path/to/file."""
        raw = self.text(name)
        if raw is None:
            return None
        problem = database_url_problem(raw)
        if problem:
            raise SettingsError(
                f"{name} must be postgresql://user@host:port/database or sqlite:///path/to/songrec.sqlite3 "
                f"({problem}), not {_shown(_without_password(raw))}."
            )
        return raw

    def redis_url(self, name: str) -> str | None:
        """redis://[:password@]host[:port][/db], rediss:// (TLS) or unix:///path/to/redis.sock."""
        raw = self.text(name)
        if raw is None:
            return None
        problem = redis_url_problem(raw)
        if problem:
            raise SettingsError(
                f"{name} must be redis://host:port/db (or rediss://, unix:///path) ({problem}), "
                f"not {_shown(_without_password(raw))}."
            )
        return raw

    def sha256(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if not re.fullmatch(r"[0-9a-fA-F]{64}", raw):
            raise SettingsError(f"{name} must be a sha256 hash (64 hex digits), not {_shown(raw)}.")
        return raw.lower()

    def market(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() == "from_token":
            return "from_token"
        if not (raw.isascii() and raw.isalpha() and len(raw) == 2):
            raise SettingsError(f"{name} must be a two-letter country code such as SE, not {_shown(raw)}.")
        return raw.upper()

    def lenient_seconds(self, name: str) -> float | None:
        """A positive number; a bad one is logged and ignored, so a typo never stops a running bot."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            log.warning("ignoring %s=%r: not a number", name, raw)
            return None
        if not value > 0 or value == float("inf"):
            log.warning("ignoring %s=%r: not a positive number", name, raw)
            return None
        return value


DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite")


def database_url_problem(raw: str) -> str | None:
    """What is wrong with a database URL, or None; the store's chooser (songrec/store/open.py) reads it."""
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in DATABASE_SCHEMES:
        return "unknown scheme" if sep else "no scheme"
    if any(c.isspace() for c in raw):
        return "it contains spaces"
    if scheme.lower() == "sqlite":
        return None if rest.startswith("/") and rest.strip("/") else "sqlite:/// needs a file path"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return str(exc)
    if parts.path.strip("/") and "/" in parts.path.strip("/"):
        return "the database name may not contain '/'"
    return None


REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url_problem(raw: str) -> str | None:
    """What is wrong with a Redis URL, or None (songrec/coordination/open.py reads it too)."""
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in REDIS_SCHEMES:
        return "unknown scheme" if sep else "no scheme"
    if any(c.isspace() for c in raw):
        return "it contains spaces"
    parts = urlsplit(raw)
    if scheme.lower() == "unix":
        return None if parts.path.strip("/") else "unix:// needs a socket path"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return str(exc)
    if not parts.hostname:
        return "no host"
    db = parts.path.strip("/")
    if db and not _number(db):
        return "the database must be a number, e.g. /0"
    return None


def redact_url(raw: str) -> str:
    """The URL as it may appear in a log line or an error message: any password replaced by ***."""
    return _without_password(raw)


def _without_password(raw: str) -> str:
    """The URL as it may appear in an error message: any password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", raw)


def parse_shard_ids(text: str, count: int) -> tuple[int, ...]:
    """ "0-3,8" -> (0, 1, 2, 3, 8); every id must be below `count`."""
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not _number(low.strip()) or (dash and not _number(high.strip())):
            raise SettingsError(
                f"SONGREC_SHARD_IDS lists shard numbers and ranges such as 0-3,8; {part[:20]!r} is neither."
            )
        first, last = int(low), int(high) if dash else int(low)
        if first > last:
            raise SettingsError(f"SONGREC_SHARD_IDS: the range {part!r} runs backwards.")
        if last >= count:
            raise SettingsError(
                f"SONGREC_SHARD_IDS: shard {last} does not exist with SONGREC_SHARDS={count} "
                f"(ids go 0-{count - 1})."
            )
        ids.update(range(first, last + 1))
    if not ids:
        raise SettingsError("SONGREC_SHARD_IDS is set but names no shard.")
    return tuple(sorted(ids))


def _shards(env: _Env) -> tuple[int | Literal["auto"] | None, tuple[int, ...] | None]:
    count_text = (env.text("SONGREC_SHARDS") or "").lower()
    ids_text = env.text("SONGREC_SHARD_IDS")
    if not count_text:
        if ids_text:
            raise SettingsError(
                "SONGREC_SHARD_IDS needs SONGREC_SHARDS (the total number of shards across all processes)."
            )
        return None, None
    if count_text == "auto":
        if ids_text:
            raise SettingsError(
                "SONGREC_SHARD_IDS needs a fixed SONGREC_SHARDS: every process must agree on the total, so "
                "'auto' only works for a single process running every shard."
            )
        return "auto", None
    if not _number(count_text) or not 1 <= int(count_text) <= MAX_SHARDS:
        raise SettingsError(
            f"SONGREC_SHARDS must be 'auto' or a number of shards (1-{MAX_SHARDS}), not {count_text[:20]!r}."
        )
    count = int(count_text)
    return count, parse_shard_ids(ids_text, count) if ids_text else None


# --------------------------------------------------------------------------------------------- access

_cached: tuple[tuple[str | None, ...], Settings] | None = None


def get_settings() -> Settings:
    """This process's settings, parsed once per distinct environment.

    The cache is keyed on the values of ENV_NAMES, so a change (a test's monkeypatch.setenv, a CLI
    exporting a variable for its own use) is seen at the next call without anyone remembering to reload.
    """
    global _cached
    key = tuple(os.environ.get(name) for name in ENV_NAMES)
    hit = _cached
    if hit is not None and hit[0] == key:
        return hit[1]
    built = Settings.from_env(os.environ)
    _cached = (key, built)
    return built


def reload_settings() -> Settings:
    """Drop the cached settings and parse the environment again."""
    global _cached
    _cached = None
    return get_settings()


# --------------------------------------------------------------------------------------------- paths


def home() -> Path:
    """SONGREC_HOME holds the catalogue cache, artifacts and the database (default ~/.songrec)."""
    path = get_settings().home
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path | None:
    """The shared datasets folder named by SONGREC_DATA, if it exists."""
    path = get_settings().data
    return path if path is not None and path.is_dir() else None


def artifacts_dir() -> Path:
    path = home() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    """SONGREC_DB, else songrec.sqlite3 in SONGREC_HOME."""
    db = get_settings().db
    return db if db is not None else home() / "songrec.sqlite3"


def database_location() -> str:
    """Where the store lives: SONGREC_DATABASE_URL when set, else the SQLite file (database_path())."""
    url = get_settings().database_url
    return url if url is not None else str(database_path())


def device() -> str:
    """cuda when a GPU is there, else cpu."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
