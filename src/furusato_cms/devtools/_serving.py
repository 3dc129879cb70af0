"""What both stand-ins share: bind a port (0 picks a free one), announce it, serve WSGI.

The announcement is one line on stdout, flushed, so a test fixture can start the process
on port 0 and read back where it listens without racing for a free port.
"""
import html
import socket

from waitress.server import create_server


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; ``port`` 0 lets the system pick a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def port_of(sock: socket.socket) -> int:
    return sock.getsockname()[1]


def serve_wsgi(app, sock: socket.socket, announcement: str) -> None:
    """Serve ``app`` on ``sock`` with waitress until interrupted or terminated."""
    server = create_server(app, sockets=[sock], threads=4, ident="furusato-dev")
    print(announcement, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def html_page(title: str, body: str) -> str:
    """A complete, plain, accessible HTML document; ``body`` must already be escaped."""
    return (
        '<!doctype html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
        "</body>\n</html>\n"
    )


def bilingual(japanese: str, english: str) -> str:
    """Japanese text followed by its English, marked with ``lang`` for screen readers."""
    return f'{html.escape(japanese)} <span lang="en">{html.escape(english)}</span>'
