"""songrec.settings: every environment variable parsed in one place, checked, documented.

The last tests read the source: a variable mentioned in songrec/, bot/ or training/ must be parsed by
Settings and listed in docs/configuration.md, and os.environ is read nowhere else (bar an allow-list).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from songrec import settings as settings_module
from songrec.domain import SettingsError
from songrec.ops.logs import SECRET_NAMES
from songrec.settings import ENV_NAMES, Settings, get_settings, reload_settings

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "configuration.md"
SOURCE_ROOTS = ("songrec", "bot", "training")
NAME = re.compile(r"\b(?:SONGREC|DISCORD|SPOTIFY)_[A-Z0-9_]*[A-Z0-9]\b")

FULL = {
    "SONGREC_HOME": "~/srhome",
    "SONGREC_DATA": "/data/sets",
    "SONGREC_DB": "/var/lib/songrec/db.sqlite3",
    "SONGREC_CATALOG_URL": "https://example.org/songs.csv.gz",
    "SONGREC_CATALOG_SHA256": "AB" * 32,
    "SONGREC_LOG_LEVEL": "debug",
    "SONGREC_LOG_FORMAT": "JSON",
    "SONGREC_METRICS_PORT": "9108",
    "SONGREC_METRICS_ADDR": " 127.0.0.1 ",
    "DISCORD_TOKEN": " discord-token-value ",
    "DEV_GUILD_ID": "1234567890",
    "SONGREC_SHARDS": "16",
    "SONGREC_SHARD_IDS": "9, 0-1,1",
    "SONGREC_RETRAIN": "off",
    "SONGREC_RETRAIN_INTERVAL_S": "120",
    "SONGREC_RETRAIN_CHECK_S": "2.5",
    "SONGREC_RETRAIN_MIN_FEEDBACK": "25",
    "SONGREC_RETRAIN_TIMEOUT_S": "900",
    "SONGREC_TRAINING_THREADS": "3",
    "SONGREC_TRAINING_NICE": "0",
    "SONGREC_TRAINING_FAULT": "OOM",
    "SPOTIFY_CLIENT_ID": "spotify-client-id",
    "SPOTIFY_CLIENT_SECRET": "spotify-client-secret",
    "SPOTIFY_REDIRECT_URI": "http://localhost:9999/cb",
    "SPOTIFY_TOKEN_CACHE": "~/tok.json",
    "SPOTIFY_API_PREFIX": "http://127.0.0.1:1/v1",
    "SPOTIFY_ACCOUNTS_URL": "http://127.0.0.1:1",
    "SPOTIFY_MARKET": "se",
}


# ----------------------------------------------------------------------------------------- parsing


def test_defaults_when_nothing_is_set() -> None:
    parsed = Settings.from_env({})
    assert parsed == Settings()
    assert parsed.home == Path.home() / ".songrec"
    assert parsed.database_path == Path.home() / ".songrec" / "songrec.sqlite3"
    assert (parsed.log_level, parsed.log_format) == (None, "kv")
    assert (parsed.metrics_port, parsed.metrics_addr) == (None, "0.0.0.0")
    assert (parsed.discord_token, parsed.dev_guild_id, parsed.shards, parsed.shard_ids) == (
        None,
        None,
        None,
        None,
    )
    assert parsed.retrain is True and parsed.retrain_interval_s is None and parsed.training_threads is None
    assert (parsed.training_nice, parsed.training_fault) == (10, None)
    assert parsed.spotify_client_id is None and parsed.spotify_token_cache is None
    assert Settings.from_env({name: "  " for name in ENV_NAMES}) == parsed  # blank is unset


def test_every_variable_is_converted() -> None:
    parsed = Settings.from_env(FULL)
    assert parsed.home == Path("~/srhome").expanduser()
    assert parsed.data == Path("/data/sets")
    assert parsed.db == parsed.database_path == Path("/var/lib/songrec/db.sqlite3")
    assert parsed.catalog_url == "https://example.org/songs.csv.gz"
    assert parsed.catalog_sha256 == "ab" * 32
    assert (parsed.log_level, parsed.log_format) == ("DEBUG", "json")
    assert (parsed.metrics_port, parsed.metrics_addr) == (9108, "127.0.0.1")
    assert (parsed.discord_token, parsed.dev_guild_id) == ("discord-token-value", 1234567890)
    assert (parsed.shards, parsed.shard_ids) == (16, (0, 1, 9))
    assert parsed.retrain is False
    assert (parsed.retrain_interval_s, parsed.retrain_check_s) == (120.0, 2.5)
    assert (parsed.retrain_min_feedback, parsed.retrain_timeout_s) == (25, 900.0)
    assert (parsed.training_threads, parsed.training_nice, parsed.training_fault) == (3, 0, "oom")
    assert (parsed.spotify_client_id, parsed.spotify_client_secret) == (
        "spotify-client-id",
        "spotify-client-secret",
    )
    assert parsed.spotify_redirect_uri == "http://localhost:9999/cb"
    assert parsed.spotify_token_cache == Path("~/tok.json").expanduser()
    assert (parsed.spotify_api_prefix, parsed.spotify_accounts_url) == (
        "http://127.0.0.1:1/v1",
        "http://127.0.0.1:1",
    )
    assert parsed.spotify_market == "SE"
    assert Settings.from_env({"SONGREC_SHARDS": "AUTO"}).shards == "auto"
    assert Settings.from_env({"SONGREC_RETRAIN": "Yes"}).retrain is True
    assert Settings.from_env({"SPOTIFY_MARKET": "from_token"}).spotify_market == "from_token"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SONGREC_METRICS_PORT", "nine", "port number"),
        ("SONGREC_METRICS_PORT", "70000", "port number"),
        ("SONGREC_METRICS_PORT", "٣", "port number"),
        ("SONGREC_LOG_FORMAT", "xml", "kv, json"),
        ("SONGREC_LOG_LEVEL", "loud", "DEBUG, INFO"),
        ("SONGREC_CATALOG_URL", "songs.csv", "URL"),
        ("SONGREC_CATALOG_SHA256", "abc", "64 hex digits"),
        ("DEV_GUILD_ID", "my server", "server id"),
        ("SONGREC_SHARDS", "0", "1-4096"),
        ("SONGREC_SHARD_IDS", "0-3", "needs SONGREC_SHARDS"),
        ("SONGREC_RETRAIN", "sometimes", "on or off"),
        ("SONGREC_TRAINING_THREADS", "0", "whole number from 1"),
        ("SONGREC_TRAINING_NICE", "-5", "whole number from 0 to 19"),
        ("SONGREC_TRAINING_FAULT", "segfault", "crash, oom"),
        ("SPOTIFY_REDIRECT_URI", "localhost:8888", "URL"),
        ("SPOTIFY_API_PREFIX", "ftp://x", "http or https URL"),
        ("SPOTIFY_MARKET", "Sweden", "two-letter"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    message = str(info.value)
    assert message.startswith(name) and says in message and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_retrain_knobs_warn_and_fall_back_instead_of_failing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="songrec.settings"):
        parsed = Settings.from_env({"SONGREC_RETRAIN_TIMEOUT_S": "oops", "SONGREC_RETRAIN_CHECK_S": "-1"})
    assert parsed.retrain_timeout_s is None and parsed.retrain_check_s is None
    assert "SONGREC_RETRAIN_TIMEOUT_S" in caplog.text and "SONGREC_RETRAIN_CHECK_S" in caplog.text


def test_secrets_stay_out_of_repr() -> None:
    text = repr(Settings.from_env(FULL))
    for secret in ("discord-token-value", "spotify-client-secret", "spotify-client-id"):
        assert secret not in text
    assert "9108" in text  # the rest is there, for debugging


def test_a_bad_secret_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"DISCORD_TOKEN": "tok-123456", "SONGREC_SHARDS": "many"})
    assert "tok-123456" not in str(info.value)


class Recording(Mapping[str, str]):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_from_env_reads_exactly_env_names() -> None:
    """ENV_NAMES is the cache key of get_settings(): a variable read but missing there would go stale."""
    env = Recording()
    Settings.from_env(env)
    assert set(env.asked) == set(ENV_NAMES) and len(ENV_NAMES) == len(set(ENV_NAMES))


# ----------------------------------------------------------------------------------------- access


def test_get_settings_is_cached_and_sees_a_changed_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "one"))
    first = get_settings()
    assert get_settings() is first and first.home == tmp_path / "one"
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "two"))
    assert get_settings().home == tmp_path / "two"
    assert reload_settings() == get_settings() and reload_settings() is not first


def test_path_helpers_sit_on_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    monkeypatch.setenv("SONGREC_DATA", str(tmp_path / "missing"))
    assert settings_module.home() == tmp_path / "home" and (tmp_path / "home").is_dir()
    assert settings_module.artifacts_dir() == tmp_path / "home" / "artifacts"
    assert settings_module.database_path() == tmp_path / "home" / "songrec.sqlite3"
    assert settings_module.data_dir() is None  # named, but not a folder
    (tmp_path / "missing").mkdir()
    assert settings_module.data_dir() == tmp_path / "missing"
    monkeypatch.setenv("SONGREC_DB", str(tmp_path / "elsewhere.sqlite3"))
    assert settings_module.database_path() == tmp_path / "elsewhere.sqlite3"


def test_cli_reports_a_bad_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from songrec.cli.main import main

    monkeypatch.setenv("SONGREC_LOG_FORMAT", "xml")
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: SONGREC_LOG_FORMAT must be one of kv, json") and "\n" not in err


def test_the_bot_checks_every_variable_before_it_starts() -> None:
    from bot.app import load_config
    from songrec.domain import BotConfigError

    with pytest.raises(BotConfigError, match="^SONGREC_METRICS_PORT must be a port number"):
        load_config({"DISCORD_TOKEN": "t", "SONGREC_METRICS_PORT": "x"})


# ----------------------------------------------------------------------------------------- the source


def source_files() -> Iterator[Path]:
    for root in SOURCE_ROOTS:
        yield from sorted((REPO / root).rglob("*.py"))


def names_in_source() -> dict[str, set[str]]:
    """Every SONGREC_/DISCORD_/SPOTIFY_ name in a string (messages and docstrings included) -> files."""
    found: dict[str, set[str]] = {}
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for name in NAME.findall(node.value):
                    found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_variable_in_the_source_is_parsed_by_settings_and_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    found = names_in_source()
    assert "SONGREC_HOME" in found and "DISCORD_TOKEN" in found  # the scan works
    # Names only the log redaction knows (it scans for secrets, it configures nothing).
    redaction_only = set(SECRET_NAMES) - set(ENV_NAMES)
    unparsed = {
        name: files for name, files in found.items() if name not in ENV_NAMES and name not in redaction_only
    }
    assert not unparsed, f"mentioned in the source but not read by songrec.settings: {unparsed}"
    undocumented = sorted(name for name in {*found, *ENV_NAMES} if f"`{name}`" not in doc)
    assert not undocumented, f"add these to docs/configuration.md: {undocumented}"


#: The only places besides songrec/settings.py that may touch os.environ, and why.
ENVIRON_ALLOWED = {
    # The log redaction hides the value of every secret-looking variable, known to songrec or not.
    ("songrec/ops/logs.py", "_secret_values"),
    # Builds the training child's environment: ours, passed on whole, plus the config's extras.
    ("training/scheduler.py", "_run"),
}


def environ_uses(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of each os.environ / os.getenv / from-os-import of them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    spans = sorted(
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )

    def where(line: int) -> str:
        inside = [(start, name) for start, end, name in spans if start <= line <= end]
        return max(inside)[1] if inside else "<module>"

    uses = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv")
        ):
            uses.append((where(node.lineno), node.lineno))
        names = {alias.name for alias in node.names} if isinstance(node, ast.ImportFrom) else set()
        if getattr(node, "module", None) == "os" and names & {"environ", "getenv", "environb", "getenvb"}:
            uses.append((where(node.lineno), node.lineno))
    return uses


def test_os_environ_is_read_only_in_settings() -> None:
    stray = []
    seen_allowed = set()
    for path in source_files():
        relative = str(path.relative_to(REPO))
        if relative == "songrec/settings.py":
            continue
        for function, line in environ_uses(path):
            if (relative, function) in ENVIRON_ALLOWED:
                seen_allowed.add((relative, function))
            else:
                stray.append(f"{relative}:{line} in {function}()")
    assert not stray, f"read the environment through songrec.settings instead: {stray}"
    assert seen_allowed == ENVIRON_ALLOWED  # an allow-list entry nobody needs any more goes
    assert environ_uses(REPO / "songrec" / "settings.py")  # the scan does find uses
