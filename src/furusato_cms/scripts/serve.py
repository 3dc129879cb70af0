"""Serve the application on every core (本番運用):
``furusato-serve production.ini [--workers N] [--listen HOST:PORT]``.

One waitress process is held to about one core by Python's interpreter lock, however
many threads it has. This binds the listening socket once, then forks ``--workers``
processes (default: one per core) that each load the application after the fork — so
no database connection or pool is shared between processes — and accept on that same
socket, the kernel handing each new connection to whichever worker is waiting. The
waitress options (threads, proxy headers, body limits) come from the ini's
``[server:main]`` section, the same ones a single ``pserve`` would use. A worker that
dies is replaced; SIGTERM or SIGINT stops them all.
"""
import argparse
import configparser
import gc
import linecache
import os
import signal
import socket
import sys
import time

from waitress import serve
from waitress.adjustments import Adjustments

RESTART_PAUSE = 1.0
"""Seconds before a dead worker is replaced, so a worker that fails at start-up does not
spin the machine."""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="furusato-serve", description=__doc__.split("\n")[0])
    parser.add_argument("config_uri", help="the ini file, e.g. production.ini")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes to fork (default: one per core)")
    parser.add_argument("--listen", default=None,
                        help="HOST:PORT (default: the ini's [server:main] listen)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def server_options(ini: str) -> dict:
    """The ini's ``[server:main]`` waitress options, without the paste keys."""
    parser = configparser.ConfigParser(defaults={"here": os.path.dirname(os.path.abspath(ini))})
    parser.read(ini)
    if not parser.has_section("server:main"):
        return {}
    return {key: value for key, value in parser.items("server:main")
            if key not in ("use", "here")}


def bind(listen: str) -> socket.socket:
    """The one listening socket every worker accepts on."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(Adjustments.backlog)
    sock.setblocking(False)
    return sock


GC_THRESHOLD = (10_000, 50, 50)
"""Allocations before the youngest generation is collected (Python's default is 700),
and how many younger collections each older one waits for."""


def tune_collector():
    """Python's cyclic garbage collector, set for a long-running server: what start-up
    built (the application, its configuration, the mappings) is frozen out of the
    collector's scans, and collections run less often. With the defaults they took 7–9 %
    of a page's CPU (issue 16); reference counting still frees nearly every object at
    once — only objects in cycles wait a little longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


TEST_TOOL_ACCELERATORS = ("jsonschema_rs",)
"""Native libraries that only test tools install, which a library the server uses picks up
whenever it can import them: openapi-spec-validator checks the API document with
jsonschema-rs once schemathesis has brought it, and that library then stays mapped for the
life of the process (9.5 MB of a worker's 166, issue 16's ``rss``) for one check of one
document at start-up. Production installs do not have it."""


def without_test_tool_accelerators():
    """Before the application loads in a server process: libraries fall back to their
    pure-Python backends (``None`` in ``sys.modules`` makes an import fail, as Python's
    import system documents)."""
    for name in TEST_TOOL_ACCELERATORS:
        sys.modules.setdefault(name, None)


def forget_source_lines_read_at_start_up():
    """Pyramid's configuration reads the source line of every configuring call into
    ``linecache`` (for its conflict messages): about 1 MB of text from some 400 files,
    held for the life of the process (1.7 MB of its memory under load). Lines of files
    on disk are dropped, and a traceback reads them again; those of generated code
    (SQLAlchemy's, attrs') have no file to read them from and stay."""
    for filename, entry in list(linecache.cache.items()):
        if len(entry) == 4 and entry[1] is not None:
            del linecache.cache[filename]


def load_server_app(config_uri: str):
    """The WSGI application as a long-running server process holds it."""
    from pyramid.paster import get_app

    without_test_tool_accelerators()
    app = get_app(config_uri, "main")
    forget_source_lines_read_at_start_up()
    tune_collector()
    return app


def run_worker(config_uri: str, sock: socket.socket, options: dict):
    """In the child: load the app (its engine is made here, after the fork) and serve."""
    from pyramid.paster import setup_logging

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    setup_logging(config_uri)
    serve(load_server_app(config_uri), sockets=[sock], **options)


def fork_worker(config_uri, sock, options) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            run_worker(config_uri, sock, options)
        finally:
            os._exit(1)
    return pid


def supervise(config_uri: str, sock: socket.socket, options: dict, workers: int):
    """Keep ``workers`` children alive until told to stop, then stop them."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    children = {fork_worker(config_uri, sock, options) for _ in range(workers)}
    while not stopping:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid in children:
            children.discard(pid)
            time.sleep(RESTART_PAUSE)
            if not stopping:
                children.add(fork_worker(config_uri, sock, options))
        time.sleep(0.2)
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = server_options(args.config_uri)
    listen = args.listen or options.pop("listen", "0.0.0.0:6543")
    options.pop("listen", None)
    options.pop("port", None)
    options.pop("host", None)
    sock = bind(listen)
    print(f"furusato-serve: {args.workers} workers on {listen}", flush=True)
    supervise(args.config_uri, sock, options, args.workers)


if __name__ == "__main__":
    main()
