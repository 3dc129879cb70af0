"""A real primary and streaming standby on this machine, for the replica tests: a
throw-away cluster (initdb) on a free port, a base backup of it taken with
``pg_basebackup -R`` (so the copy starts as a standby streaming from the primary) on
another port, both in a temporary directory and stopped afterwards.

A cluster of the test's own rather than a standby of the shared server: taking a base
backup of the shared server needs a ``replication`` line in its pg_hba.conf, which the
tests must not edit. PostgreSQL refuses to run as root, so as root the server commands
run as the ``postgres`` user."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def server_bin() -> Path | None:
    """The directory of initdb/pg_ctl/pg_basebackup (Debian keeps them off PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_server_user(command) -> list:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Pair:
    primary_url: str
    standby_url: str
    standby_dir: Path
    bin: Path

    def stop_standby(self):
        run(self.bin / "pg_ctl", "-D", self.standby_dir, "-m", "immediate", "-w", "stop")


def run(*command):
    subprocess.run(as_server_user([str(part) for part in command]), check=True,
                   capture_output=True, timeout=120)


def _configure_primary(data: Path, port: int, sockets: Path):
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                   f"unix_socket_directories = '{sockets}'\nwal_level = replica\n"
                   "max_wal_senders = 4\nfsync = off\nshared_buffers = 16MB\n")
    with (data / "pg_hba.conf").open("a", encoding="utf-8") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")


def _wait_ready(bin_dir: Path, port: int, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True)
        if done.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


@contextmanager
def streaming_pair():
    """Yields a Pair; both servers are stopped and their files removed afterwards. The
    files live in a directory of their own under the system's temporary directory (the
    server user cannot enter pytest's, which are private to the user running the tests)."""
    bin_dir = server_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    tmp = Path(tempfile.mkdtemp(prefix="furusato-replication-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    primary, standby, sockets = tmp / "primary", tmp / "standby", tmp / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(sockets, "postgres")
    primary_port, standby_port = free_port(), free_port()
    run(bin_dir / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8")
    _configure_primary(primary, primary_port, sockets)
    run(bin_dir / "pg_ctl", "-D", primary, "-l", tmp / "primary.log", "-w", "start")
    started = [primary]
    try:
        _wait_ready(bin_dir, primary_port)
        run(bin_dir / "pg_basebackup", "-h", "127.0.0.1", "-p", primary_port, "-U", "postgres",
            "-D", standby, "-R", "-X", "stream", "-c", "fast")
        run(bin_dir / "pg_ctl", "-D", standby, "-l", tmp / "standby.log", "-w",
            "-o", f"-p {standby_port}", "start")
        started.append(standby)
        _wait_ready(bin_dir, standby_port)
        yield Pair(primary_url=f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/postgres",
                   standby_url=f"postgresql+psycopg://postgres@127.0.0.1:{standby_port}/postgres",
                   standby_dir=standby, bin=bin_dir)
    finally:
        for data in reversed(started):
            subprocess.run(as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                           "immediate", "-w", "stop"]), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
