"""Structured logging: one line per record, and no secret in any line, even at DEBUG.

The end-to-end test runs the real bot against the fake Discord (discord.py logging its gateway traffic
and REST calls at DEBUG, a 429 included) and the real Spotify client against the fake Spotify (spotipy
logging its token requests and API calls at DEBUG), with a command that fails with the token in its
exception message, and then searches every line written for every secret.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import BotConfig
from songrec.ops.logs import REDACTED, redact, register_secret, setup_logging
from songrec.spotify import SpotifyClient, SpotifyConfig
from tests.support import bot_harness
from tests.support.bot_harness import bounded, running_bot, wait_suggestions
from tests.support.discord_server import FakeDiscord
from tests.support.service_double import ServiceDouble
from tests.support.spotify_server import seeded_fake

DISCORD_SECRET = "MTEyMzQ1Njc4OTAxMjM0NTY3OA.GhIjKl.abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
SPOTIFY_SECRET = "spotify-client-secret-0123456789"


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """songrec's logging at DEBUG into a buffer; everything it changed is put back afterwards."""
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", SPOTIFY_SECRET)
    root = logging.getLogger()
    level, hooks = root.level, (sys.excepthook, threading.excepthook)
    # Loggers an earlier test quietened (bot.app.setup_logging sets discord.http to WARNING) speak again.
    quietened = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(("discord", "spotipy")) and logger.level
    }
    for name in quietened:
        logging.getLogger(name).setLevel(logging.NOTSET)
    stream = io.StringIO()
    handler = setup_logging(logging.DEBUG, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in quietened.items():
            logging.getLogger(name).setLevel(old)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


def test_redact_covers_every_secret_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("MY_SERVICE_API_KEY", "k3y-value-123456")
    register_secret("runtime-secret-abcdef")
    cases = {
        f"token is {DISCORD_SECRET}": DISCORD_SECRET,
        "other shaped token NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I": "Ovy4MCQyw",
        "headers {'Authorization': 'Bot abc.def.ghi'}": "abc.def.ghi",
        "Authorization: Bearer BQDv8Xa0-access-token-value-1234567890": "BQDv8Xa0",
        "Basic ZmFrZS1jbGllbnQtaWQ6ZmFrZS1jbGllbnQtc2VjcmV0": "ZmFrZS1jbGllbnQt",
        "{'refresh_token': 'AQCrefresh-value-xyz', 'scope': 'x'}": "AQCrefresh-value-xyz",
        '{"access_token": "BQAaccess", "token_type": "Bearer"}': "BQAaccess",
        "grant_type=refresh_token&refresh_token=AQD123456&client_secret=shh12345": "AQD123456",
        "callback?code=AQBcode-from-spotify&state=1": "AQBcode-from-spotify",
        "POST https://discord.com/api/v10/webhooks/111/aW50ZXJhY3Rpb246dG9rZW4/messages/@original": "aW50ZX",
        "POST /api/v10/interactions/222/tok-333/callback": "tok-333",
        "uses k3y-value-123456 today": "k3y-value-123456",
        "learned runtime-secret-abcdef": "runtime-secret-abcdef",
    }
    for text, secret in cases.items():
        out = redact(text)
        assert secret not in out, (text, out)
        assert REDACTED in out
    assert (
        redact('{"code": 10008, "message": "Unknown Message"}')
        == '{"code": 10008, "message": "Unknown Message"}'
    )
    assert redact("Basic information about the Bot") == "Basic information about the Bot"


def test_lines_are_structured_and_tracebacks_redacted(log_stream: io.StringIO) -> None:
    log = logging.getLogger("songrec.test")
    log.info("plain %s with args", "message", extra={"command": "recommend", "latency_ms": 12.5})
    try:
        raise RuntimeError(f"login failed for {DISCORD_SECRET}\nsecond line")
    except RuntimeError:
        log.exception("it broke")
    sys.excepthook(*_exc_info(ValueError(f"uncaught {SPOTIFY_SECRET}")))
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 3, lines  # one record, one line: tracebacks are folded into exc="..."
    assert lines[0].split(" ")[1:4] == ["level=info", "logger=songrec.test", 'msg="plain']
    assert "command=recommend latency_ms=12.5" in lines[0]
    assert "exc=" in lines[1] and "RuntimeError" in lines[1] and "uncaught exception" in lines[2]
    assert DISCORD_SECRET not in log_stream.getvalue() and SPOTIFY_SECRET not in log_stream.getvalue()

    stream = io.StringIO()
    handler = setup_logging(logging.DEBUG, fmt="json", stream=stream)
    log.warning("json %d", 1, extra={"token_owner": DISCORD_SECRET})
    logging.getLogger().removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["msg"] == "json 1" and record["level"] == "warning" and record["token_owner"] == REDACTED


def _exc_info(error: BaseException) -> tuple[type[BaseException], BaseException, object]:
    try:
        raise error
    except BaseException as caught:
        return type(caught), caught, caught.__traceback__


@bounded(60)
async def test_no_secret_reaches_any_log_line_at_debug(
    log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = {DISCORD_SECRET, SPOTIFY_SECRET}

    # discord.py: login, IDENTIFY, gateway events with interaction tokens, REST with a 429, and a
    # command failing with the token in its message (logged with a traceback).
    service = ServiceDouble()
    service.failures["history"] = RuntimeError(f"database said no to {DISCORD_SECRET}")
    monkeypatch.setattr(bot_harness, "TOKEN", DISCORD_SECRET)
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        alice = fake.add_user("alice")
        async with running_bot(fake, service, config=BotConfig(token=DISCORD_SECRET)):
            fake.rate_limit_once("POST", r"^/webhooks/")
            ix = await fake.slash(alice, "recommend", count=1)
            await wait_suggestions(fake, ix, 1)
            ix = await fake.slash(alice, "history")
            (reply,) = await fake.wait_reply(ix)
            assert "something went wrong" in reply["content"].lower()
        assert fake.identifies[0]["token"] == DISCORD_SECRET and fake.rate_limited
        secrets |= {i.token for i in fake.interactions.values()}

    # spotipy: the client-credentials token request (Basic auth) and API calls (Bearer), then a user
    # token refresh (refresh_token in the body).
    with seeded_fake() as spotify:
        spotify.client_secret = SPOTIFY_SECRET
        cfg = SpotifyConfig(
            client_id=spotify.client_id,
            client_secret=SPOTIFY_SECRET,
            token_cache_path=tmp_path / "spotify_token.json",
            api_prefix=spotify.api_prefix,
            accounts_url=spotify.accounts_url,
        )
        user_token = spotify.issue_user_token(expired=True)
        cfg.token_cache_path.write_text(json.dumps(user_token))
        async with SpotifyClient(cfg, None, timeout=5, max_attempts=2) as client:
            track = next(iter(spotify.tracks.values()))
            await client.track(track.id)
            await client.current_user()
        secrets |= set(spotify._app_tokens) | {user_token["access_token"], user_token["refresh_token"]}
        secrets |= set(spotify._refresh_tokens)  # keyed by refresh token
    secrets.add(base64.b64encode(f"{cfg.client_id}:{SPOTIFY_SECRET}".encode()).decode())

    text = log_stream.getvalue()
    lines = text.splitlines()
    loggers = {line.split(" logger=")[1].split(" ")[0] for line in lines if " logger=" in line}
    assert {"discord.gateway", "discord.http", "spotipy.client", "songrec.bot"} <= loggers, loggers
    assert any("level=debug" in line for line in lines)
    assert any("RuntimeError" in line and "exc=" in line for line in lines), "the failure's traceback"
    captured = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in sorted(s for s in secrets if s):
        assert secret not in text, f"secret {secret[:6]}… in the log"
        assert secret not in captured, f"secret {secret[:6]}… in a log record"
