"""Fixtures starting the development stand-ins as real processes: the local OpenID Connect
provider (furusato-dev-oidc) and the mail catcher (furusato-dev-mail).

Use them from a conftest or a test module by importing them:

    from tests.devtools_fixtures import mail_catcher, oidc_provider  # noqa: F401

Both are session-scoped (one process per xdist worker), listen on free ports and are
terminated at teardown. For other settings (e.g. an OIDC provider whose clock stands
still at the app's FixedClock instant) use the context managers
``running_oidc_provider(workdir, frozen_time=...)`` and ``running_mail_catcher(workdir)``.
"""
import re
import secrets
import selectors
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from joserfc import jwk, jwt

from furusato_cms.devtools.oidc_registry import ensure_client, load_people, register_redirect_uri

START_TIMEOUT = 20
HTTP_TIMEOUT = 10


# --- starting and stopping a stand-in --------------------------------------------------

@contextmanager
def running(module: str, args, announcement: re.Pattern, workdir: Path):
    """Run ``python -m module args``; yield the match of its announcement line; terminate
    it on exit. Its stderr (logs) is kept in ``workdir`` and shown if it fails to start."""
    stderr_path = workdir / f"{module.rsplit('.', 1)[-1]}.stderr.log"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", module, *map(str, args)],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        yield _announcement(process, announcement, stderr_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _announcement(process, pattern: re.Pattern, stderr_path: Path) -> re.Match:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        line = process.stdout.readline()
        if not line:
            break
        match = pattern.search(line)
        if match:
            return match
    raise RuntimeError(f"{process.args} did not start:\n{stderr_path.read_text(errors='replace')}")


def wait_until_answers(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} does not answer")
        time.sleep(0.05)


# --- the OpenID Connect provider -------------------------------------------------------

class _ChooserForm(HTMLParser):
    """The hidden fields, action and person buttons of the provider's chooser page."""

    def __init__(self, page: str):
        super().__init__()
        self.action, self.fields, self.people = None, {}, []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "button" and attrs.get("name") == "person":
            self.people.append(attrs["value"])


@dataclass
class OIDCProvider:
    """A running furusato-dev-oidc and the test client registered with it."""
    issuer: str
    client_id: str
    private_jwk: dict        # the client's private key (RS256), for private_key_jwt
    private_key_path: Path   # the same key as a JWK file, for an app's ini
    clients_path: Path
    people: dict             # key -> the test person's record (see test_people.json)

    @property
    def authorization_endpoint(self) -> str:
        return self.issuer + "/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/token"

    @property
    def userinfo_endpoint(self) -> str:
        return self.issuer + "/userinfo"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/jwks"

    def register_redirect_uri(self, uri: str) -> None:
        """Allow ``uri`` for the test client (the provider re-reads clients per request)."""
        register_redirect_uri(str(self.clients_path), self.client_id, uri)

    def client_assertion(self, key: dict | None = None, **claims) -> str:
        """A ``private_key_jwt`` client assertion; ``claims`` override the valid defaults,
        ``key`` signs instead of the registered key."""
        now = int(time.time())
        payload = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_endpoint,
                   "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16), **claims}
        signing_key = key or self.private_jwk
        header = {"alg": signing_key.get("alg", "RS256"), "kid": self.private_jwk["kid"]}
        return jwt.encode(header, payload, jwk.import_key(signing_key),
                          algorithms=[header["alg"]])

    def choose_person(self, authorization_url: str, person_key: str) -> str:
        """Open the provider's page at ``authorization_url`` and press ``person_key``'s
        button, as a browser would; return the redirect back to the app (with ``code`` and
        ``state``, or ``error`` when the request was refused)."""
        return self._submit(authorization_url, {"person": person_key})

    def cancel(self, authorization_url: str) -> str:
        """Press "Cancel" on the provider's page; return the redirect back to the app."""
        return self._submit(authorization_url, {"cancel": "1"})

    def _submit(self, authorization_url: str, choice: dict) -> str:
        page = requests.get(authorization_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        if page.status_code == 302:
            return page.headers["Location"]
        if page.status_code != 200:
            raise AssertionError(f"provider refused the request ({page.status_code}): {page.text}")
        form = _ChooserForm(page.text)
        if "person" in choice and choice["person"] not in form.people:
            raise LookupError(f"no test person {choice['person']!r} on the page")
        answer = requests.post(form.action, data={**form.fields, **choice},
                               allow_redirects=False, timeout=HTTP_TIMEOUT)
        if answer.status_code != 302:
            raise AssertionError(f"provider did not redirect ({answer.status_code}): {answer.text}")
        return answer.headers["Location"]


@contextmanager
def running_oidc_provider(workdir: Path, *, client_id: str = "furusato-test",
                          redirect_uris=(), frozen_time: str | None = None):
    """Start furusato-dev-oidc with a freshly generated test client; yield OIDCProvider."""
    clients_path, key_path = workdir / "clients.json", workdir / "client-key.json"
    private_jwk = ensure_client(str(clients_path), client_id, key_path=str(key_path),
                                redirect_uris=redirect_uris)
    args = ["--port", "0", "--key", workdir / "provider-key.json", "--clients", clients_path]
    if frozen_time:
        args += ["--frozen-time", frozen_time]
    with running("furusato_cms.devtools.oidc_provider", args, re.compile(r"issuer (\S+)"),
                 workdir) as match:
        issuer = match.group(1)
        wait_until_answers(issuer + "/.well-known/openid-configuration")
        yield OIDCProvider(issuer, client_id, private_jwk, key_path, clients_path,
                           {person["key"]: person for person in load_people()})


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    with running_oidc_provider(tmp_path_factory.mktemp("dev-oidc")) as provider:
        yield provider


# --- the mail catcher ------------------------------------------------------------------

@dataclass
class MailCatcher:
    """A running furusato-dev-mail. It is shared by a whole session: clear() first."""
    smtp_host: str
    smtp_port: int
    http_url: str

    def messages(self, to: str | None = None) -> list:
        """Received messages, oldest first, optionally only those for envelope recipient
        ``to``; each a dict with from, to, subject, text, html, headers, envelope_to …"""
        answer = requests.get(self.http_url + "messages.json", timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        return [m for m in answer.json() if to is None or to in m["envelope_to"]]

    def clear(self) -> None:
        requests.delete(self.http_url + "messages", timeout=HTTP_TIMEOUT).raise_for_status()


@contextmanager
def running_mail_catcher(workdir: Path):
    args = ["--smtp-port", "0", "--http-port", "0"]
    pattern = re.compile(r"smtp (\S+):(\d+) http (\S+)")
    with running("furusato_cms.devtools.mail_catcher", args, pattern, workdir) as match:
        catcher = MailCatcher(match.group(1), int(match.group(2)), match.group(3))
        wait_until_answers(catcher.http_url + "messages.json")
        yield catcher


@pytest.fixture(scope="session")
def mail_catcher(tmp_path_factory):
    with running_mail_catcher(tmp_path_factory.mktemp("dev-mail")) as catcher:
        yield catcher
