"""Serve one benchmark application with waitress, the same settings for both:
``serve.py app INI PORT`` (furusato-cms) or ``serve.py bare PORT`` (the reference page).

Waitress's per-request queue-depth warning is silenced so logging does not skew the
figures."""
import logging
import sys

import waitress

THREADS = 8


def main(argv):
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    if argv[0] == "app":
        from pyramid.paster import get_app
        app, port = get_app(argv[1], "main"), int(argv[2])
    else:
        from bare_app import make_app
        app, port = make_app(), int(argv[1])
    waitress.serve(app, host="127.0.0.1", port=port, threads=THREADS, _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
