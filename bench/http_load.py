"""Serving and loading over HTTP for the benchmarks: an ini for the application under
test, waitress in a subprocess on a free local port, and a load generator of keep-alive
``http.client`` connections in threads (wrk is not installed)."""
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

BENCH = Path(__file__).parent
REPO = BENCH.parent
CONNECTIONS = 16
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
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {args} did not start") from None
                time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class Load:
    """What one loading round saw: seconds, per-request latencies (ms), statuses."""
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _exchange(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def get_page(port, path, headers=None):
    """(response, body) of one GET on a fresh connection."""
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        return _exchange(connection, "GET", path, headers=headers)
    finally:
        connection.close()


def load(port, requests, *, seconds=None, connections=CONNECTIONS) -> Load:
    """Send requests from ``connections`` keep-alive connections at once.

    ``requests`` is either a callable giving the same ``(method, path, body, headers)``
    forever (then run for ``seconds``), or a list of them sent once each (then run until
    all are sent)."""
    result, lock = Load(), threading.Lock()
    queue = None if callable(requests) else list(reversed(requests))
    deadline = [0.0]

    def next_request():
        if queue is None:
            return requests() if time.perf_counter() < deadline[0] else None
        with lock:
            return queue.pop() if queue else None

    def worker():
        connection = HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, statuses = [], {}
        while (request := next_request()) is not None:
            method, path, body, headers = request
            started = time.perf_counter()
            response, _body = _exchange(connection, method, path, body, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    deadline[0] = started + (seconds or 0)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result
