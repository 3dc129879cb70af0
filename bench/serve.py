"""Serve one benchmark application with waitress, the same settings for both:
``serve.py app INI PORT`` (furusato-cms, one process), ``serve.py cores INI PORT``
(furusato-cms on every core through ``furusato-serve``, the production way) or
``serve.py bare PORT`` (the reference page).

Waitress's per-request queue-depth warning is silenced so logging does not skew the
figures. The one-process app is loaded as furusato-serve's workers load it
(``load_server_app``: the garbage collector's tuning, no test-tool accelerators), so both
run as production does. Each process has production.ini's
threads (its ``[server:main]``); ``FURUSATO_BENCH_THREADS`` tries another number (the
same for every server)."""
import logging
import os
import sys
from pathlib import Path

import waitress

from furusato_cms.scripts.serve import server_options

PRODUCTION_INI = Path(__file__).resolve().parent.parent / "production.ini"
THREADS = int(os.environ.get("FURUSATO_BENCH_THREADS")
              or server_options(str(PRODUCTION_INI))["threads"])


def main(argv):
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    if argv[0] == "cores":
        from furusato_cms.scripts import serve
        sock = serve.bind(f"127.0.0.1:{argv[2]}")
        serve.supervise(argv[1], sock, {"threads": THREADS, "_quiet": True}, os.cpu_count() or 1)
        return
    if argv[0] == "app":
        from furusato_cms.scripts.serve import load_server_app
        app, port = load_server_app(argv[1]), int(argv[2])
    else:
        from bare_app import make_app
        app, port = make_app(), int(argv[1])
    waitress.serve(app, host="127.0.0.1", port=port, threads=THREADS, _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
