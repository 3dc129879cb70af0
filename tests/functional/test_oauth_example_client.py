"""examples/api_client.py against a live app: the script runs as its own process, prints
the consent page's address; the test signs in as the demo registrant and allows the app
(as a person in a browser would, with plain HTTP requests); the script receives the code
on its loopback listener, exchanges it and prints who the token is."""
import json
import os
import re
import subprocess
import sys
import threading

import pytest
import requests
import transaction
from waitress.server import create_server

from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import system_clock
from furusato_cms.models import Account, get_engine, get_session_factory, get_tm_session
from furusato_cms.scripts import demo
from furusato_cms.services.checkin_tokens import CheckinTokens
from sqlalchemy import select

from ..conftest import base_settings, service_settings
from ..attendance_factories import make_checkin_world
from ..dbsetup import drop_database, fresh_database_url, migrate
from ..factories import MATSUMOTO, NAGANO_CITY
from ..oauth_factories import make_client

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "examples", "api_client.py")
DEMO_PASSWORD = "furusato-demo-2026"


@pytest.fixture(scope="module")
def live_app(worker_id_name, tmp_path_factory, mail_catcher, app_oidc_provider):
    """The app on waitress (in a thread) over a database of its own with the demo data
    and one registered public app; yields (base URL, client id, registrant's id)."""
    url = fresh_database_url(worker_id_name + "_oauth_live", tmp_path_factory.mktemp("live"))
    migrate(url)
    engine = get_engine({"furusato.db_url": url})
    with transaction.manager:
        session = get_tm_session(get_session_factory(engine), transaction.manager)
        demo.load(session, system_clock())
        client_id = make_client(session, redirect_uris=["http://127.0.0.1/callback"],
                                scopes=["profile", "registrations", "card",
                                        "activities"]).client_id
        person = session.scalar(select(Account.id).where(Account.email == "registrant@example.jp"))
        open_now = make_checkin_world(session, system_clock(), code=NAGANO_CITY,
                                      title="今日の雪かき")
        poster = CheckinTokens(AppSettings.from_settings(base_settings(url))).token_for(
            open_now.session)
    engine.dispose()
    server = create_server(lambda environ, start: app["wsgi"](environ, start),
                           host="127.0.0.1", port=0, threads=4)
    base = f"http://127.0.0.1:{server.effective_port}"
    app = {"wsgi": main({}, **base_settings(url, **{
        **service_settings(mail_catcher, app_oidc_provider), "furusato.base_url": base}))}
    threading.Thread(target=server.run, daemon=True).start()
    yield base, client_id, person, f"{base}/checkin/{poster}"
    server.close()
    drop_database(url)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def allow_as_the_demo_registrant(base, authorize_url):
    """Sign in (sent back to the consent page) and press 「許可する」."""
    browser = requests.Session()
    path = authorize_url.removeprefix(base)
    page = browser.get(base + "/signin", params={"came_from": path}, timeout=30)
    consent = browser.post(base + "/signin", data={
        "__formid__": "deform", "csrf_token": csrf_token(page.text),
        "email": "registrant@example.jp", "password": DEMO_PASSWORD, "came_from": path,
        "signin": "signin"}, timeout=30)
    assert "許可しますか" in consent.text, consent.text[:500]
    done = browser.post(authorize_url, data={"csrf_token": csrf_token(consent.text),
                                             "approve": "1"}, timeout=30)
    assert done.status_code == 200 and "連携が終わりました" in done.text


def test_the_example_client_runs_the_pkce_flow_against_a_live_app(live_app):
    base, client_id, person, poster = live_app
    process = subprocess.Popen(
        [sys.executable, SCRIPT, "--base-url", base, "--client-id", client_id,
         "--scopes", "profile registrations card activities", "--register", MATSUMOTO,
         "--checkin", poster, "--card", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        authorize_url = process.stdout.readline().strip()
        assert authorize_url.startswith(base + "/oauth/authorize?")
        allow_as_the_demo_registrant(base, authorize_url)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    printed = json.loads(out.strip().splitlines()[-1])
    assert printed["scope"] == "profile registrations card activities"
    assert printed["registered"]["site"]["code"] == MATSUMOTO
    card_sites = {item["site"]["code"] for item in printed["card"]["items"]}
    assert MATSUMOTO in card_sites and all(
        item["verify_url"].endswith(item["statement"]) for item in printed["card"]["items"])
    assert printed["checkin"]["status"] == "recorded"
    assert printed["checkin"]["project_title"] == "今日の雪かき"
    assert printed["whoami"].get("account_id", printed["whoami"].get("id")) == person
