"""furusato-serve: one listening socket, a worker process per core, workers replaced
when they die and all stopped with the parent."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ..script_support import script_database, write_ini  # noqa: F401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> set:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
        return {int(part) for part in handle.read().split()}


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def answers(port) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def served(script_database, tmp_path):  # noqa: F811
    url, _engine = script_database
    ini = write_ini(tmp_path / "serve.ini", url)
    with ini.open("a", encoding="utf-8") as handle:
        handle.write("\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:1\nthreads = 2\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "furusato_cms.scripts.serve", str(ini), "--workers", "2",
         "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: answers(port))
        yield process, port
    finally:
        # SIGTERM, so the parent stops its workers (SIGKILL would leave them running).
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc")
def test_forks_the_workers_asked_for_and_replaces_a_dead_one(served):
    process, port = served
    workers = wait_for(lambda: len(children_of(process.pid)) == 2 and children_of(process.pid))
    assert all(answers(port) for _ in range(20))
    dead = min(workers)
    os.kill(dead, signal.SIGKILL)
    replaced = wait_for(lambda: (children_of(process.pid) - {dead}
                                 if len(children_of(process.pid) - {dead}) == 2 else None))
    assert dead not in replaced
    assert all(answers(port) for _ in range(20))


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc")
def test_sigterm_stops_the_workers_and_the_parent(served):
    process, port = served
    workers = wait_for(lambda: len(children_of(process.pid)) == 2 and children_of(process.pid))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(os.path.exists(f"/proc/{pid}/status") and "zombie" not in
                   open(f"/proc/{pid}/status", encoding="ascii").read() for pid in workers)
    assert not answers(port)


def test_refuses_zero_workers(tmp_path):
    result = subprocess.run([sys.executable, "-m", "furusato_cms.scripts.serve",
                             str(tmp_path / "x.ini"), "--workers", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--workers" in result.stderr


def test_the_workers_collector_is_tuned_for_a_server():
    """What start-up built is frozen out of the collector's scans and the youngest
    generation waits for more allocations; run in a child so this test process keeps
    Python's defaults."""
    probe = ("import gc; from furusato_cms.scripts.serve import tune_collector, GC_THRESHOLD;"
             "before = gc.get_freeze_count(); tune_collector();"
             "print(gc.get_threshold() == GC_THRESHOLD, gc.get_freeze_count() > before)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True"]


def _in_child(code: str) -> list:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()


def test_a_worker_loads_the_application_lean(script_database, tmp_path):  # noqa: F811
    """schemathesis (a test tool) installs jsonschema-rs, and openapi-spec-validator
    takes it whenever it imports: a server process loads the app on the pure-Python
    backend instead, and still serves. The source lines configuration read into
    linecache (as loading the app alone shows) are dropped, those of generated code kept.
    Run in children: this test process has jsonschema-rs and its own linecache."""
    ini = str(write_ini(tmp_path / "serve.ini", script_database[0]))
    files_in_linecache = ("len([e for e in linecache.cache.values() if len(e) == 4 and e[1]]),"
                          "any(k.startswith('<sqlalchemy') for k in linecache.cache)")
    plain = _in_child(f"import linecache; from pyramid.paster import get_app;"
                      f"get_app({ini!r}, 'main'); print({files_in_linecache})")
    assert int(plain[0]) > 50 and plain[1] == "True"
    lean = _in_child(
        "import sys, linecache; from furusato_cms.scripts.serve import load_server_app;"
        f"app = load_server_app({ini!r});"
        "import openapi_spec_validator.schemas.backend as backend;"
        "print(sys.modules['jsonschema_rs'] is None, backend.get_validator_backend(),"
        f" callable(app), {files_in_linecache})")
    assert lean == ["True", "jsonschema", "True", "0", "True"]
