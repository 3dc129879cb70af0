"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that keeps every
request (headers and body) and answers from a script (a status, a delay past the worker's
time-out, or a redirect), and a verifier written independently of the code under test
(standard library hmac, following the Standard Webhooks text)."""
import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    url: str
    server: ThreadingHTTPServer
    requests: list = field(default_factory=list)
    script: list = field(default_factory=list)
    """Answers for the next requests, in order: an int status, ("sleep", seconds) or
    ("redirect", location); 200 when the script is empty."""

    def answer_with(self, *answers):
        self.script.extend(answers)

    def clear(self):
        self.requests.clear()
        self.script.clear()


def start_receiver() -> Receiver:
    receiver = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receiver.requests.append(Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = receiver.script.pop(0) if receiver.script else 200
            if isinstance(answer, tuple) and answer[0] == "sleep":
                time.sleep(answer[1])
                answer = 200
            if isinstance(answer, tuple) and answer[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", answer[1])
                self.end_headers()
                return
            text = b'{"received": true}' if answer < 300 else b"receiver says no"
            self.send_response(answer)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            """The worker hung up on a slow answer (its time-out): expected, not noise."""

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/furusato/events", server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def verify(secret: str, headers: dict, body: bytes, now: int, tolerance: int = 300) -> bool:
    """A receiver's check, per the Standard Webhooks specification: the secret is base64
    after ``whsec_``; the signed content is ``id.timestamp.body``; any one of the
    space-separated ``v1,<base64>`` signatures may match; the timestamp must be recent."""
    key = base64.b64decode(secret.split("_", 1)[1])
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = base64.b64encode(hmac.new(
        key, message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256
    ).digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False
