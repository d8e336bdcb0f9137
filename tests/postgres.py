"""A private, throwaway PostgreSQL server for tests that stop or restart their server.

The suite's PostgreSQL server (scripts/with-postgres) is shared by every xdist worker, so a
test that restarts a server must not restart that one: it starts its own cluster here, from
the same binaries (``TEST_PG_CTL``), on a free loopback port, and deletes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Server:
    url: str
    data: Path
    log: Path
    pg_ctl: str
    owner: list[str]

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut)."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._ctl("start")

    def _ctl(self, action: str, *options: str) -> None:
        # The server's output goes to its log file: a pipe would be held open by it.
        subprocess.run([*self.owner, self.pg_ctl, action, "-D", str(self.data), *options, "-w",
                        "-l", str(self.log)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_postgres() -> Iterator[Server]:
    """A new PostgreSQL cluster with a database ``estado`` (skips without TEST_PG_CTL)."""
    pg_ctl = os.environ.get("TEST_PG_CTL")
    if not pg_ctl:
        pytest.skip("needs PostgreSQL's binaries (TEST_PG_CTL, as scripts/with-postgres sets)")
    bindir = Path(pg_ctl).parent
    root = Path(tempfile.mkdtemp(prefix="estado-pg-private."))
    owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: Debian's postgres user runs it
        shutil.chown(root, "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    server = Server(f"postgresql+psycopg://postgres@127.0.0.1:{port}/estado", root / "data",
                    root / "server.log", pg_ctl, owner)
    try:
        subprocess.run([*owner, str(bindir / "initdb"), "-D", str(server.data), "-U", "postgres",
                        "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        server._ctl("start", "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off")
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "estado"], check=True, timeout=60)
        yield server
    finally:
        subprocess.run([*owner, pg_ctl, "stop", "-D", str(server.data), "-m", "immediate"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(root, ignore_errors=True)
