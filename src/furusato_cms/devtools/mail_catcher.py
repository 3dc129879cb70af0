"""furusato-dev-mail: a local mail catcher (開発用メール受信サーバー). Development and tests only.

An SMTP server that keeps the last messages in memory (nothing is delivered anywhere) and
a small web viewer, in one process, so `make run` can send real mail that a developer
reads in the browser and tests read as JSON:

    furusato-dev-mail [--host 127.0.0.1] [--smtp-port 1025] [--http-port 1080]

    GET    /                 messages, newest first
    GET    /messages/{n}     one message (text part; an HTML part only as escaped source)
    GET    /messages.json    all messages, oldest first (from, to, subject, text, headers …)
    DELETE /messages         forget all messages (also POST /clear, from the page)

Port 0 picks a free port; the first stdout line then says where both listen.
"""
import argparse
import asyncio
import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from zoneinfo import ZoneInfo

from aiosmtpd.smtp import SMTP
from webob import Response
from webob.dec import wsgify
from webob.exc import HTTPMethodNotAllowed, HTTPNoContent, HTTPNotFound, HTTPSeeOther

from ._serving import bilingual, bind, html_page, port_of, serve_wsgi

MAX_MESSAGES = 500
TOKYO = ZoneInfo("Asia/Tokyo")
URL = re.compile(r"(https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+)")
MESSAGE_PATH = re.compile(r"/messages/(\d+)")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
TITLE = "開発用メール受信箱 Development mail catcher"


def _part(message: EmailMessage, subtype: str) -> str:
    """The decoded text of the message's ``text/<subtype>`` body, or ''."""
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):
        return part.get_payload(decode=True).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Caught:
    """One received message, with its SMTP envelope."""
    number: int
    received_at: datetime
    envelope_from: str
    envelope_to: tuple
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    def as_json(self) -> dict:
        return {
            "number": self.number,
            "received_at": self.received_at.isoformat(),
            "envelope_from": self.envelope_from,
            "envelope_to": list(self.envelope_to),
            "from": self.header("From"),
            "to": self.header("To"),
            "cc": self.header("Cc"),
            "subject": self.header("Subject"),
            "text": _part(self.message, "plain"),
            "html": _part(self.message, "html"),
            "headers": [[name, str(value)] for name, value in self.message.items()],
        }


class MailBox:
    """The last ``limit`` messages, shared by the SMTP thread and the web threads."""

    def __init__(self, limit: int = MAX_MESSAGES):
        self.lock = threading.Lock()
        self.messages: deque[Caught] = deque(maxlen=limit)
        self.received = 0

    def add(self, envelope_from: str, envelope_to, raw: bytes) -> Caught:
        message = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.received += 1
            caught = Caught(self.received, datetime.now(timezone.utc), envelope_from,
                            tuple(envelope_to), message)
            self.messages.append(caught)
        return caught

    def all(self) -> list:
        with self.lock:
            return list(self.messages)

    def get(self, number: int):
        return next((m for m in self.all() if m.number == number), None)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class CatchingHandler:
    """aiosmtpd handler: accept every message and keep it."""

    def __init__(self, mailbox: MailBox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        self.mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        return "250 Message accepted for delivery"


def start_smtp(mailbox: MailBox, host: str, port: int) -> int:
    """Run the SMTP server on its own event loop thread; return the port it listens on."""
    loop = asyncio.new_event_loop()
    handler = CatchingHandler(mailbox)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="furusato-dev-mail", enable_SMTPUTF8=True, loop=loop),
        host=host, port=port))
    threading.Thread(target=loop.run_forever, name="smtp", daemon=True).start()
    return server.sockets[0].getsockname()[1]


def linkify(text: str) -> str:
    """Escape ``text`` and make its http(s) URLs clickable (confirmation links)."""
    pieces = URL.split(text)
    return "".join(f'<a href="{escape(piece)}">{escape(piece)}</a>' if index % 2 else escape(piece)
                   for index, piece in enumerate(pieces))


def tokyo_time(instant: datetime) -> str:
    return instant.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")


class Viewer:
    """The web viewer (WSGI)."""

    def __init__(self, mailbox: MailBox):
        self.mailbox = mailbox

    @wsgify
    def __call__(self, request):
        if MESSAGE_PATH.fullmatch(request.path_info):
            methods = {"GET": self.show}
        else:
            methods = self.routes.get(request.path_info)
        if methods is None:
            return HTTPNotFound()
        if request.method not in methods:
            return HTTPMethodNotAllowed(headers={"Allow": ", ".join(methods)})
        return methods[request.method](request)

    @property
    def routes(self) -> dict:
        return {
            "/": {"GET": self.index},
            "/messages.json": {"GET": self.as_json},
            "/messages": {"DELETE": self.clear},
            "/clear": {"POST": self.clear_from_page},
        }

    def html(self, body: str, status: int = 200) -> Response:
        response = Response(html_page(TITLE, body), status=status, content_type="text/html",
                            charset="utf-8")
        response.headers.update(SECURITY_HEADERS)
        return response

    def index(self, request):
        rows = "\n".join(
            f"<tr><td>{tokyo_time(m.received_at)}</td><td>{escape(m.header('From'))}</td>"
            f"<td>{escape(m.header('To') or ', '.join(m.envelope_to))}</td>"
            f'<td><a href="/messages/{m.number}">{escape(m.header("Subject") or "—")}</a></td></tr>'
            for m in reversed(self.mailbox.all()))
        body = f"""<h1>{bilingual("開発用メール受信箱", "Development mail catcher")}</h1>
<p>{bilingual("送信されたメールはここに届き、外部には配信されません。",
              "Mail sent here is kept in memory and never delivered.")}</p>
<form method="post" action="/clear">
<button type="submit">{bilingual("すべて削除", "Delete all")}</button>
</form>
<table>
<thead><tr><th scope="col">{bilingual("受信日時", "Received")}</th>
<th scope="col">{bilingual("差出人", "From")}</th><th scope="col">{bilingual("宛先", "To")}</th>
<th scope="col">{bilingual("件名", "Subject")}</th></tr></thead>
<tbody>
{rows or '<tr><td colspan="4">' + bilingual("メールはありません。", "No messages.") + "</td></tr>"}
</tbody>
</table>"""
        return self.html(body)

    def show(self, request):
        caught = self.mailbox.get(int(MESSAGE_PATH.fullmatch(request.path_info).group(1)))
        if caught is None:
            return HTTPNotFound()
        headers = "\n".join(f"<dt>{escape(name)}</dt><dd>{escape(str(value))}</dd>"
                            for name, value in caught.message.items())
        html_part = _part(caught.message, "html")
        html_section = (
            f'<h2>{bilingual("HTML 部分（ソースのまま表示）", "HTML part (source, not rendered)")}</h2>'
            f"<pre>{escape(html_part)}</pre>" if html_part else "")
        body = f"""<p><a href="/">{bilingual("一覧へ戻る", "Back to the list")}</a></p>
<h1>{escape(caught.header("Subject") or "—")}</h1>
<p>{bilingual("受信日時", "Received")}: {tokyo_time(caught.received_at)}<br>
{bilingual("配送先", "Envelope recipients")}: {escape(", ".join(caught.envelope_to))}</p>
<h2>{bilingual("本文", "Text")}</h2>
<pre>{linkify(_part(caught.message, "plain"))}</pre>
{html_section}
<h2>{bilingual("ヘッダー", "Headers")}</h2>
<dl>
{headers}
</dl>"""
        return self.html(body)

    def as_json(self, request):
        response = Response(json.dumps([m.as_json() for m in self.mailbox.all()],
                                       ensure_ascii=False),
                            content_type="application/json", charset="utf-8")
        response.cache_control = "no-store"
        return response

    def clear(self, request):
        self.mailbox.clear()
        return HTTPNoContent()

    def clear_from_page(self, request):
        self.mailbox.clear()
        return HTTPSeeOther(location="/")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="furusato-dev-mail",
        description="Local SMTP server keeping messages in memory, with a web viewer "
                    "(development and tests only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025, help="0 picks a free port")
    parser.add_argument("--http-port", type=int, default=1080, help="0 picks a free port")
    parser.add_argument("--limit", type=int, default=MAX_MESSAGES, help="messages kept")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    mailbox = MailBox(args.limit)
    smtp_port = start_smtp(mailbox, args.host, args.smtp_port)
    sock = bind(args.host, args.http_port)
    serve_wsgi(Viewer(mailbox), sock,
               f"furusato-dev-mail: smtp {args.host}:{smtp_port} "
               f"http http://{args.host}:{port_of(sock)}/ (development stand-in only)")


if __name__ == "__main__":
    main()
