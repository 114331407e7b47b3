"""The optional Prometheus endpoint: off unless SONGREC_METRICS_PORT is set, prometheus-client imported
only then, and when on, a scrape on 127.0.0.1 shows command latency, errors and feedback."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from songrec.domain import MetricsUnavailable
from songrec.ops import metrics as songrec_metrics
from songrec.ops.metrics import MetricsServer, start_from_env
from tests.support.bot_harness import bounded, suggestion_id, suggestion_messages, wait_suggestions, world
from tests.support.service_env import ServiceOpener


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    started = start_from_env({"SONGREC_METRICS_PORT": "0", "SONGREC_METRICS_ADDR": "127.0.0.1"})
    assert started is not None
    try:
        yield started
    finally:
        started.close()
    assert type(songrec_metrics.metrics()) is songrec_metrics.Metrics, "closing switches recording off"


def scrape(server: MetricsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(server.url, timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())


def test_off_by_default_and_prometheus_imported_lazily() -> None:
    assert start_from_env({}) is None
    with pytest.raises(MetricsUnavailable, match="port number"):
        start_from_env({"SONGREC_METRICS_PORT": "nine"})
    with pytest.raises(MetricsUnavailable, match="port number"):
        start_from_env({"SONGREC_METRICS_PORT": "٣"})
    code = (
        "import sys, songrec.ops.metrics, bot.app, bot.observability\n"
        "songrec.ops.metrics.metrics().command('x', 1.0, 'ok')\n"
        "assert 'prometheus_client' not in sys.modules, 'imported without being asked for'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_busy_port_is_a_clear_error(server: MetricsServer) -> None:
    with pytest.raises(MetricsUnavailable, match="cannot serve metrics"):
        songrec_metrics.start_metrics_server(server.port, "127.0.0.1")


@bounded(60)
async def test_scrape_shows_latency_errors_and_feedback(
    open_service: ServiceOpener, server: MetricsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service, world(monkeypatch, service) as w:
        fake = w.fake
        ix = await fake.slash(w.alice, "recommend", song="Song 12", count=1)
        (message,) = suggestion_messages(await wait_suggestions(fake, ix, 1))
        sid = suggestion_id(message)
        ix = await fake.click(w.bob, int(message["id"]), f"songrec:like:{sid}")
        await fake.wait_reply(ix)
        ix = await fake.slash(w.alice, "like", song="qqqzzz nothing like this")
        (reply,) = await fake.wait_reply(ix)
        assert "couldn't find" in reply["content"]
        ix = await fake.slash(w.carol, "like")  # nothing shown to carol: a user error too
        await fake.wait_reply(ix)

    samples = scrape(server)
    assert value(samples, "songrec_command_seconds_count", command="recommend", outcome="ok") == 1
    assert value(samples, "songrec_command_seconds_count", command="like", outcome="error") == 2
    assert value(samples, "songrec_command_seconds_bucket", command="recommend", le="+Inf") == 1
    assert value(samples, "songrec_command_seconds_sum", command="recommend") > 0
    assert value(samples, "songrec_errors_total", where="like", kind="user:TrackNotFound") == 1
    assert value(samples, "songrec_errors_total", where="like", kind="user:NothingToRate") == 1
    assert value(samples, "songrec_feedback_total", source="button", vote="like") == 1
