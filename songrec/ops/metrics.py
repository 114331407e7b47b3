"""Optional Prometheus metrics: command latency, errors and feedback, served on SONGREC_METRICS_PORT.

prometheus-client is the optional extra `songrec[metrics]` and is imported only when metrics are switched
on, so a plain install never needs it. Until `start_metrics_server()` (or `start_from_env()` with the
variable set) runs, every recording call is a no-op costing one attribute lookup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from songrec.domain import MetricsUnavailable, SettingsError
from songrec.settings import Settings, get_settings

log = logging.getLogger(__name__)

PORT_ENV = "SONGREC_METRICS_PORT"
#: Seconds; Discord's 3-second deadline sits between two buckets on purpose.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)


class Metrics:
    """The recording side. The base class records nothing (metrics switched off)."""

    def command(self, name: str, seconds: float, outcome: str) -> None:
        """One command finished: `outcome` is "ok" or "error"."""

    def error(self, where: str, kind: str) -> None:
        """A failure worth counting: `where` is the command or component, `kind` the exception class."""

    def feedback(self, source: str, vote: str) -> None:
        """A like/dislike/undo recorded, by where it came from (command, button, reaction, ...)."""


class PrometheusMetrics(Metrics):
    """Metrics in a private registry (so several can exist in one process, e.g. in tests)."""

    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:  # the optional extra is not installed
            raise MetricsUnavailable(
                f"{PORT_ENV} is set but prometheus-client is not installed: "
                "`pip install 'songrec[metrics]'`, or unset the variable."
            ) from exc
        self.prom = prom
        self.registry = prom.CollectorRegistry()
        self.latency = prom.Histogram(
            "songrec_command_seconds",
            "Time from a command reaching the bot to its answer being sent.",
            ["command", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = prom.Counter(
            "songrec_errors", "Failed commands and interactions.", ["where", "kind"], registry=self.registry
        )
        self.votes = prom.Counter(
            "songrec_feedback",
            "Likes, dislikes and undos recorded.",
            ["source", "vote"],
            registry=self.registry,
        )

    def command(self, name: str, seconds: float, outcome: str) -> None:
        self.latency.labels(name[:64], outcome).observe(max(0.0, seconds))

    def error(self, where: str, kind: str) -> None:
        self.errors.labels(where[:64], kind[:64]).inc()

    def feedback(self, source: str, vote: str) -> None:
        self.votes.labels(source[:32], vote).inc()


_current: Metrics = Metrics()
_lock = threading.Lock()


def metrics() -> Metrics:
    """What to record into: the running server's metrics, or the no-op."""
    return _current


@dataclass
class MetricsServer:
    metrics: PrometheusMetrics
    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and switch recording off again."""
        global _current
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        with _lock:
            if _current is self.metrics:
                _current = Metrics()


def start_metrics_server(port: int, host: str = "0.0.0.0") -> MetricsServer:
    """Serve /metrics on host:port (port 0: any free port) and record into it from now on."""
    global _current
    recorder = PrometheusMetrics()
    try:
        server, thread = recorder.prom.start_http_server(port, addr=host, registry=recorder.registry)
    except OSError as exc:
        raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    with _lock:
        _current = recorder
    bound = int(server.server_address[1])
    log.info("metrics on http://%s:%d/metrics", host, bound)
    return MetricsServer(recorder, host, bound, server, thread)


def start_from_env(env: Mapping[str, str] | None = None) -> MetricsServer | None:
    """Start the server when SONGREC_METRICS_PORT is set (SONGREC_METRICS_ADDR: default all interfaces)."""
    try:
        config = get_settings() if env is None else Settings.from_env(env)
    except SettingsError as exc:
        raise MetricsUnavailable(str(exc)) from exc
    if config.metrics_port is None:
        return None
    return start_metrics_server(config.metrics_port, config.metrics_addr)
