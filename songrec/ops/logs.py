"""The one place songrec's processes (CLI, bot, training) configure logging: one line per record, secrets out.

Every record becomes one line, `key=value` (the default, for people) or JSON (`SONGREC_LOG_FORMAT=json`,
for log shippers), with any `extra={...}` fields as extra keys. Redaction happens twice, so no handler
ever sees a secret: a log-record factory rewrites each record's message and traceback when it is made
(covering handlers we did not install, such as a test's), and our formatter redacts the final line
again (covering `extra=` fields, attached after the factory ran).

Secrets: the values of DISCORD_TOKEN, SPOTIFY_CLIENT_SECRET and any other `*_TOKEN` / `*_SECRET` /
`*_PASSWORD` / `*_API_KEY` variable; Discord bot tokens by their shape; `Authorization` headers and
`Bot`/`Bearer`/`Basic` credentials; `access_token`, `refresh_token`, `client_secret` and OAuth `code`
values; interaction and webhook tokens inside Discord URLs; anything passed to `register_secret()`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

from songrec.settings import get_settings

REDACTED = "[redacted]"
#: Shorter values are not treated as secrets: replacing "abc" everywhere would wreck the logs.
MIN_SECRET_LEN = 6
SECRET_ENV = re.compile(r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|API_KEY|PASSWD)$")
#: Always secret, whatever the regex above says.
SECRET_NAMES = ("DISCORD_TOKEN", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN", "SPOTIFY_ACCESS_TOKEN")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: <scheme> <credentials>, as a header line, a dict entry or a JSON field.
    (
        re.compile(r"""(?i)(['"]?authorization['"]?\s*[:=]\s*['"]?)(?:(?:bot|bearer|basic)\s+)?[^'"\s,}]+"""),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(Bot|Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{20,}"), rf"\1\2{REDACTED}"),
    # OAuth fields in JSON, dict reprs, form bodies and query strings.
    (
        re.compile(
            r"""(?i)(['"]?\b(?:access_token|refresh_token|id_token|client_secret|password|token)['"]?"""
            r"""\s*[:=]\s*['"]?)[^'"\s,}&]+"""
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"""([?&]code=)[^&\s'"]+"""), rf"\1{REDACTED}"),
    (re.compile(r"""(['"]code['"]\s*:\s*['"])[^'"]+"""), rf"\1{REDACTED}"),
    # Discord interaction / webhook tokens travel in URL paths.
    (re.compile(r"(/webhooks/\d+/)[A-Za-z0-9._-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/interactions/\d+/)[A-Za-z0-9._-]+"), rf"\1{REDACTED}"),
    # A Discord bot token by its shape: base64(user id) . timestamp . HMAC.
    (re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"), REDACTED),
)

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact `value` from every later log line (tokens learned at run time, e.g. from a token cache)."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _lock:
            _registered.add(value)


def _secret_values() -> list[str]:
    values = set(_registered)
    # Not configuration (docs/configuration.md): every secret-looking variable, known to songrec or not.
    for name, value in os.environ.items():
        if value and len(value) >= MIN_SECRET_LEN and (name in SECRET_NAMES or SECRET_ENV.search(name)):
            values.add(value)
    return sorted(values, key=len, reverse=True)  # longest first: a secret containing another


def redact(text: str) -> str:
    """`text` with every secret replaced by [redacted]."""
    if not text:
        return text
    for value in _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# ------------------------------------------------------------------------------------------- records

#: LogRecord attributes that are not `extra=` fields.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _redact_record(record: logging.LogRecord) -> None:
    """Freeze the record's message and traceback in redacted form (formatters then reuse them)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it for logging's own error report
        return
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_base_factory: Callable[..., logging.LogRecord] | None = None


def _install_record_factory() -> None:
    global _base_factory
    if _base_factory is not None:
        return
    _base_factory = logging.getLogRecordFactory()
    base = _base_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class _Redacting(logging.Formatter):
    def _traceback(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        parts = [record.exc_text or "", self.formatStack(record.stack_info) if record.stack_info else ""]
        return "\n".join(p for p in parts if p)

    def _items(self, record: logging.LogRecord) -> dict[str, Any]:
        """ts, level, logger, msg, the extra fields and exc: what both line formats carry."""
        items: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        trace = self._traceback(record)
        if trace:
            items["exc"] = trace
        return items

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class KeyValueFormatter(_Redacting):
    """`ts=... level=info logger=songrec.bot msg="..." key=value`: one line, grep- and human-friendly."""

    @staticmethod
    def _value(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        if text and not re.search(r"[\s\"=\\]", text) and text.isprintable():
            return text
        return json.dumps(text, ensure_ascii=False)

    def render(self, record: logging.LogRecord) -> str:
        items = self._items(record)
        return " ".join(f"{key}={self._value(value)}" for key, value in items.items())


class JsonFormatter(_Redacting):
    """One JSON object per line: ts, level, logger, msg, the extra fields and exc (the traceback)."""

    def render(self, record: logging.LogRecord) -> str:
        items = self._items(record)
        return json.dumps(items, default=str, ensure_ascii=False)


# ------------------------------------------------------------------------------------------- setup


def _level(level: int | str | None) -> int:
    if isinstance(level, int):
        return level
    name = (level or get_settings().log_level or "INFO").strip().upper()
    value = logging.getLevelName(name)
    return value if isinstance(value, int) else logging.INFO


def setup_logging(
    level: int | str | None = None, *, fmt: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every logger's records (discord.py's and spotipy's included) to one redacting handler.

    `level`: an int, a name, or SONGREC_LOG_LEVEL (default INFO). `fmt`: "kv" or "json", default
    SONGREC_LOG_FORMAT or "kv". Idempotent: calling it again replaces songrec's handler. Returns the handler.
    """
    _install_record_factory()
    kind = (fmt or get_settings().log_format).strip().lower()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if kind == "json" else KeyValueFormatter())
    handler.set_name("songrec")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "songrec"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_level(level))
    logging.captureWarnings(True)
    _install_excepthooks()
    return handler


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, where: str
) -> None:
    logging.getLogger("songrec").critical("uncaught exception in %s", where, exc_info=(exc_type, exc, tb))


def _install_excepthooks() -> None:
    """Crashes go through logging too, so a secret in an exception message is redacted there as well."""
    if getattr(sys.excepthook, "_songrec", False):
        return

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        _log_uncaught(exc_type, exc, tb, "main thread")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            name = args.thread.name if args.thread is not None else "?"
            _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback, f"thread {name}")

    hook._songrec = True  # type: ignore[attr-defined]
    sys.excepthook = hook
    threading.excepthook = thread_hook
