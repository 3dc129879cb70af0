"""A real server (waitress, in a thread) on a fresh database, and Debian's Chromium.

Without Chromium the browser tests are skipped with a plain message, unless
FURUSATO_REQUIRE_ALL=1 (CI), where a missing browser is a failure.
"""
import os
import shutil
import threading
import time

import pytest
import transaction
from waitress.server import create_server

from furusato_cms import main
from furusato_cms.clock import system_clock
from furusato_cms.models import get_engine, get_session_factory, get_tm_session
from furusato_cms.scripts import demo

from ..conftest import base_settings, service_settings
from ..dbsetup import REQUIRE_ALL, drop_database, fresh_database_url, migrate

CHROMIUM = os.environ.get("FURUSATO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "screenshots")


def _require_chromium():
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    message = "browser tests need Debian's chromium (apt-get install -y chromium fonts-noto-cjk)"
    if REQUIRE_ALL:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_db_url(worker_id_name, tmp_path_factory):
    """The live server's database, with the demo data committed; tests may commit rows of
    their own to it (e.g. a premium registration) before driving the browser."""
    _require_chromium()
    url = fresh_database_url(worker_id_name + "_browser", tmp_path_factory.mktemp("browserdb"))
    migrate(url)
    engine = get_engine({"furusato.db_url": url})
    with transaction.manager:
        demo.load(get_tm_session(get_session_factory(engine), transaction.manager), system_clock())
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def live_server(live_db_url, mail_catcher, oidc_provider):
    """Base URL of the app serving the demo data from its own committed database, sending
    mail to the session's catcher and verifying identity at the (real-time) local provider."""
    url = live_db_url
    app = {}
    server = create_server(lambda environ, start_response: app["wsgi"](environ, start_response),
                           host="127.0.0.1", port=0, threads=4)
    base = f"http://127.0.0.1:{server.effective_port}"
    oidc_provider.register_redirect_uri(base + "/my/identity/callback")
    app["wsgi"] = main({}, **base_settings(url, **{
        **service_settings(mail_catcher, oidc_provider), "furusato.base_url": base,
        "furusato.public_cache_seconds": "60",
    }))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield base
    server.close()
    app["wsgi"].registry["public_page_cache"].close()


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A phone-sized page (most registrants use phones)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def ja():
    """The Japanese people see, from the app's own catalogue (not copied wording)."""
    from furusato_cms.appsettings import AppSettings
    from furusato_cms.i18n import _
    from furusato_cms.services.mail import localizer_for

    localizer = localizer_for(AppSettings.from_settings(base_settings("sqlite://")), "ja")
    return lambda msgid: localizer.translate(_(msgid))


def sign_in(page, base, email, password):
    page.goto(base + "/signin")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    pass_second_factor(page)


def pass_second_factor(page):
    """Demo staff are enrolled with ``demo.DEMO_TOTP_SECRET``: on the code page, type the
    code of the moment as a person would; when that code was used already (the same
    account signed in twice within 30 s), wait for the next one."""
    for _attempt in range(2):
        if not page.url.endswith("/signin/totp"):
            return
        page.locator("input[name=code]").fill(demo.demo_code())
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        if page.url.endswith("/signin/totp"):
            time.sleep(30.5 - time.time() % 30)


def open_menu(page):
    """On a phone the account links are in the header's menu (<details>): open it."""
    summary = page.locator(".header-menu > summary")
    if summary.is_visible() and page.locator(".header-menu[open]").count() == 0:
        summary.click()


def sign_out(page):
    open_menu(page)
    page.locator("form[action$='/signout'] button").click()
    page.wait_for_load_state()
