#!/usr/bin/env python3
"""An example app for the furusato-cms open API: the OAuth 2.0 authorization code flow
with PKCE (S256) as a public client, then API calls with the token.

Needs only Python 3.11+ and ``requests``. Register the app first (sign in as the operator,
``/operator/clients/``: kind "public", redirect URI ``http://127.0.0.1/callback`` — any
port is accepted on the loopback address — and the scopes you need), then:

    python examples/api_client.py --base-url http://localhost:6543 --client-id fc_…

It listens on a free port of 127.0.0.1 for the redirect, opens the consent page in your
browser (``--no-browser`` only prints its address), exchanges the code for tokens and
prints who the token is (``GET /api/v1/me`` when the server has it, else
``GET /api/v1/token-info``) as JSON; with ``--register SITE_CODE`` it registers the
person with that local government (``POST /api/v1/me/registrations``; a real app shows the
site's privacy notice first and asks the survey questions), with ``--checkin POSTER_CODE``
it checks in with a venue poster's code (``POST /api/v1/me/checkins``), and with ``--card``
it prints the card's signed statements (``GET /api/v1/me/card``) — what a facility checks
at ``/verify``.

To build on it, use :class:`FurusatoApi`: ``api.get(path)``, ``api.post(path, json=…)``
refresh the access token once when it has expired; add a function per task and an
option in ``main``.
"""
import argparse
import base64
import hashlib
import http.server
import json
import secrets
import sys
import threading
import urllib.parse
import webbrowser

import requests

DEFAULT_SCOPES = "profile registrations card activities inbox"
CALLBACK_PATH = "/callback"


class ApiError(Exception):
    """An answer the app cannot go on with; ``body`` is the server's problem or error."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


def pkce_pair() -> tuple:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Callback(http.server.BaseHTTPRequestHandler):
    """Receives the one redirect back from the consent page, then says so in the browser."""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            self.send_error(404)
            return
        self.server.result = dict(urllib.parse.parse_qsl(url.query))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write("連携が終わりました。この画面は閉じてかまいません。\n".encode())

    def log_message(self, *args):
        """Quiet: the code must not end up in a log."""


class FurusatoApi:
    """The API as one person's app sees it. ``session`` is a ``requests.Session``."""

    def __init__(self, base_url, client_id, *, scopes=DEFAULT_SCOPES, session=None,
                 timeout=30):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.scopes = scopes
        self.http = session or requests.Session()
        self.timeout = timeout
        self.tokens = {}

    def metadata(self) -> dict:
        """The authorization server's metadata (RFC 8414): where to send people and codes."""
        return self._json(self.http.get(self.base_url + "/.well-known/oauth-authorization-server",
                                        timeout=self.timeout))

    def authorize(self, show=None) -> dict:
        """Run the authorization code flow with PKCE: listen on 127.0.0.1, ``show(url)``
        the consent page (default: open the browser), wait for the redirect, exchange the
        code. Returns the token response."""
        meta = self.metadata()
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        listener = http.server.HTTPServer(("127.0.0.1", 0), _Callback)
        listener.result = None
        redirect_uri = f"http://127.0.0.1:{listener.server_port}{CALLBACK_PATH}"
        url = meta["authorization_endpoint"] + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": self.scopes, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256"})
        waiting = threading.Thread(target=listener.handle_request, daemon=True)
        waiting.start()
        (show or _open_browser)(url)
        waiting.join()
        listener.server_close()
        result = listener.result or {}
        if result.get("state") != state:
            raise ApiError(400, {"error": "state_mismatch"})
        if "error" in result:
            raise ApiError(400, result)
        self.tokens = self._json(self.http.post(meta["token_endpoint"], data={
            "grant_type": "authorization_code", "code": result["code"],
            "redirect_uri": redirect_uri, "client_id": self.client_id,
            "code_verifier": verifier}, timeout=self.timeout))
        return self.tokens

    def refresh(self) -> dict:
        """A new access token for the refresh token (which is replaced too: keep the new one)."""
        self.tokens = self._json(self.http.post(self.base_url + "/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"],
            "client_id": self.client_id}, timeout=self.timeout))
        return self.tokens

    def revoke(self):
        """End the app's access (RFC 7009), e.g. when the person signs out of the app."""
        self.http.post(self.base_url + "/oauth/revoke", data={
            "token": self.tokens.get("refresh_token") or self.tokens["access_token"],
            "client_id": self.client_id}, timeout=self.timeout)
        self.tokens = {}

    def get(self, path, **params):
        return self._call("GET", path, params=params)

    def post(self, path, json=None):
        return self._call("POST", path, json=json)

    def _call(self, method, path, **kw):
        """``/api/v1`` + ``path`` with the token; an expired token is refreshed once."""
        for attempt in (1, 2):
            answer = self.http.request(
                method, self.base_url + "/api/v1" + path, timeout=self.timeout,
                headers={"Authorization": "Bearer " + self.tokens["access_token"],
                         "Accept-Language": "ja"}, **kw)
            if answer.status_code == 401 and attempt == 1 and self.tokens.get("refresh_token"):
                self.refresh()
                continue
            return self._json(answer)

    def has_operation(self, path) -> bool:
        spec = self._json(self.http.get(self.base_url + "/api/v1/openapi.json",
                                        timeout=self.timeout))
        return path in spec.get("paths", {})

    def check_in(self, poster_code: str) -> dict:
        """Check in with the code of a venue's poster (its QR address or the bare code):
        the same rules as the web check-in; sending it again answers the same record."""
        return self.post("/me/checkins", json={"code": poster_code})

    def register(self, site_code: str, connections=("birthplace",), relationship_types=(2,),
                 answers=None) -> dict:
        """Register with a site: the national questions (at least one connection) and the
        site's own answers (``{"q<id>": value}``); the person has read its privacy notice."""
        return self.post("/me/registrations", json={
            "site": site_code, "connections": list(connections),
            "relationship_types": list(relationship_types), "answers": answers or {},
            "accept_privacy_notice": True})

    def card(self) -> dict:
        """The card: one signed statement per active registration (show ``verify_url``
        as a QR code; a statement is valid for a few minutes)."""
        return self.get("/me/card")

    def whoami(self) -> dict:
        """The person (``/me``) when the server has that operation, else the token itself."""
        return self.get("/me" if self.has_operation("/me") else "/token-info")

    @staticmethod
    def _json(answer):
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        if answer.status_code >= 400:
            raise ApiError(answer.status_code, body)
        return body


def _open_browser(url):
    print("Open this address in your browser and allow the app:\n" + url, file=sys.stderr,
          flush=True)
    webbrowser.open(url)


def _print_url(url):
    print(url, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://localhost:6543")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--scopes", default=DEFAULT_SCOPES)
    parser.add_argument("--register", metavar="SITE_CODE",
                        help="register with this local government (scope registrations)")
    parser.add_argument("--checkin", metavar="POSTER_CODE",
                        help="then check in with this poster code (scope activities)")
    parser.add_argument("--card", action="store_true",
                        help="then print the card's signed statements (scope card)")
    parser.add_argument("--no-browser", action="store_true",
                        help="print the consent page's address on stdout instead of opening it")
    args = parser.parse_args(argv)
    api = FurusatoApi(args.base_url, args.client_id, scopes=args.scopes)
    try:
        api.authorize(show=_print_url if args.no_browser else None)
        printed = {"whoami": api.whoami(), "scope": api.tokens.get("scope")}
        if args.register:
            printed["registered"] = api.register(args.register)
        if args.checkin:
            printed["checkin"] = api.check_in(args.checkin)
        if args.card:
            printed["card"] = api.card()
        print(json.dumps(printed, ensure_ascii=False), flush=True)
    except (ApiError, requests.RequestException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
