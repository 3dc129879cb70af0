"""Serving and loading over HTTP for the benchmarks: an ini for the application under
test, waitress in a subprocess on a free local port, and wrk (Debian's package) as the
load generator, a C program on its own two threads, so the generator does not eat the
cores it measures the way Python threads would. wrk's Lua scripts are in bench/wrk/:
each prints one JSON line with its status counts and the latency histogram."""
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

BENCH = Path(__file__).parent
REPO = BENCH.parent
WRK_SCRIPTS = BENCH / "wrk"
CONNECTIONS = 16
WRK_THREADS = 2
TIMEOUT = "60s"
"""wrk's per-request timeout (its default, 2 s, would resend a slow check-in)."""
INI = """[app:main]
use = egg:furusato-cms
pyramid.reload_templates = false
pyramid.default_locale_name = ja
furusato.db_url = {db_url}
furusato.session_secret = {secret}
furusato.secure_cookies = false
furusato.themes_dir = {repo}/themes
furusato.locale_dir = {repo}/locale
furusato.base_url = http://127.0.0.1
furusato.smtp_host = 127.0.0.1
furusato.smtp_port = 1
furusato.card_signing_key_file = {directory}/card-signing-keys.json
sqlalchemy.pool_size = 10

[loggers]
keys = root, mail

[logger_mail]
level = CRITICAL
handlers =
qualname = furusato_cms.services.mail

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)s [%(name)s] %(message)s
"""


def write_ini(directory: Path, db_url: str, secret: str) -> Path:
    """An ini for the app and the console scripts, pointing at the benchmark database
    (mail goes to a closed port and its failure log is silenced: nothing is sent)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bench.ini"
    path.write_text(INI.format(db_url=db_url, secret=secret, repo=REPO, directory=directory),
                    encoding="utf-8")
    return path


def uncached_ini(ini: Path) -> Path:
    """The same ini with the public page cache off: what every page costs when rendered."""
    path = ini.with_name("bench-uncached.ini")
    path.write_text(ini.read_text(encoding="utf-8").replace(
        "[app:main]\n", "[app:main]\nfurusato.public_cache_seconds = 0\n", 1), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(*args):
    """``serve.py *args`` on a free port, ready to answer; the port."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), *args, str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                # A socket bound before the app loads (furusato-serve binds, then forks
                # workers that load it) accepts early: wait for a first answer too.
                get_page(port, "/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {args} did not start") from None
                time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def get_page(port, path, headers=None):
    """(response, body) of one GET on a fresh connection."""
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@dataclass
class Load:
    """What wrk saw, over one run or several merged: seconds, completed requests, answers
    by status, socket errors, the latency histogram (µs → count) and, for scripts that
    keep them, each thread's own figures."""
    seconds: float = 0.0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latency_us: Counter = field(default_factory=Counter)
    threads: list = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The latency below which ``fraction`` of the requests fell, in ms."""
        wanted, seen = fraction * sum(self.latency_us.values()), 0
        for value in sorted(self.latency_us):
            seen += self.latency_us[value]
            if seen >= wanted:
                return value / 1000
        return 0.0

    def add(self, other: "Load"):
        self.seconds += other.seconds
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.latency_us.update(other.latency_us)
        self.threads += other.threads

    @classmethod
    def from_report(cls, report: dict) -> "Load":
        return cls(seconds=report["duration_us"] / 1e6, requests=int(report["requests"]),
                   statuses=Counter({int(k): int(v) for k, v in report["statuses"].items()}),
                   errors=Counter({k: int(v) for k, v in report["errors"].items() if v}),
                   latency_us=Counter({int(v): int(n) for v, n in report["latency_us"]}),
                   threads=report["threads"])


def wrk_command(port, path, script, *, seconds, args=(), headers=()) -> list:
    """wrk with 2 threads and 16 connections, running ``script`` after report.lua, each
    request carrying ``headers`` (``"Name: value"`` strings)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    return [wrk, f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s",
            f"--timeout={TIMEOUT}", *(f"-H{header}" for header in headers),
            "-s", str(script), f"http://127.0.0.1:{port}{path}",
            *(["--", *map(str, args)] if args else [])]


def script_file(directory: Path, name: str) -> Path:
    """report.lua and the named script as one file (wrk takes a single script)."""
    path = directory / name
    path.write_text((WRK_SCRIPTS / "report.lua").read_text(encoding="utf-8") + "\n"
                    + (WRK_SCRIPTS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return path


def parse_report(stdout: str) -> Load:
    for line in stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            return Load.from_report(json.loads(line[len("BENCH-JSON "):]))
    raise RuntimeError(f"wrk printed no report:\n{stdout}")


def load(port, path, *, seconds: float, headers=()) -> Load:
    """GET ``path`` for ``seconds`` from 16 keep-alive connections."""
    with tempfile.TemporaryDirectory(prefix="furusato-wrk-") as directory:
        script = script_file(Path(directory), "page.lua")
        out = subprocess.run(wrk_command(port, path, script, seconds=max(1, round(seconds)),
                                         headers=headers),
                             check=True, capture_output=True, text=True).stdout
    return parse_report(out)


def send_once(port, requests, *, idle_path: str, deadline: float = 600) -> Load:
    """Send every ``(path, cookie, body)`` POST exactly once across wrk's threads (see
    wrk/checkin.lua); stop wrk when each thread has had all its answers. ``seconds`` is
    from the first request sent to the last answer; ``requests`` the answers counted."""
    if len(requests) < WRK_THREADS:
        raise ValueError(f"at least {WRK_THREADS} requests, one per wrk thread")
    with tempfile.TemporaryDirectory(prefix="furusato-wrk-") as directory:
        directory = Path(directory)
        queue = directory / "requests.tsv"
        queue.write_text("".join(f"{path}\t{cookie}\t{body}\n"
                                 for path, cookie, body in requests), encoding="utf-8")
        markers = directory / "done-"
        command = wrk_command(port, "/", script_file(directory, "checkin.lua"),
                              seconds=int(deadline),
                              args=(queue, WRK_THREADS, markers, idle_path))
        output = directory / "wrk.out"
        with output.open("w") as stdout:
            process = subprocess.Popen(command, stdout=stdout)
            _wait_for_markers(process, markers, time.monotonic() + deadline)
        if process.returncode:
            raise RuntimeError(f"wrk exited with {process.returncode}")
        got = parse_report(output.read_text(encoding="utf-8"))
    answered = [thread for thread in got.threads if thread.get("first") is not None]
    got.requests = sum(int(thread.get("answered", 0)) for thread in got.threads)
    got.seconds = (max(thread.get("last") or thread["first"] for thread in answered)
                   - min(thread["first"] for thread in answered))
    return got


def _wait_for_markers(process, markers: Path, deadline: float):
    """Until every wrk thread has written its marker (or wrk ended, or the deadline);
    then interrupt wrk, which prints its report (it would otherwise sleep out -d).
    SIGINT is sent until wrk exits: the first may land on a worker thread, which stops
    the workers but does not wake the main thread's sleep; later ones can only land on
    the main thread once the workers are gone."""
    names = [markers.with_name(markers.name + str(n)) for n in range(WRK_THREADS)]
    while process.poll() is None and time.monotonic() < deadline:
        if all(name.exists() for name in names):
            break
        time.sleep(0.05)
    while process.poll() is None:
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
