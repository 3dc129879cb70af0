"""A premium registrant shows the card's QR code; facility staff check it at /verify,
online and then with the network gone (the offline checker, its saved keys and WebCrypto
Ed25519); and a card opened after its codes expired no longer shows them."""
from datetime import timedelta

import pytest
import transaction
from sqlalchemy import select

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    Account,
    Registration,
    Site,
    get_engine,
    get_session_factory,
    get_tm_session,
)
from furusato_cms.services.passwords import hash_password

from ..factories import accept_current_terms
from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser
EMAIL, NAME, PASSWORD = "card.holder@example.jp", "登録証 確認子", "furusato-card-browser"
SITE_CODE, SITE_NAME = "202011", "長野市"


@pytest.fixture(scope="module")
def premium_holder(live_db_url):
    """A registrant with premium registration with 長野市, committed to the live database."""
    now = system_clock()
    engine = get_engine({"furusato.db_url": live_db_url})
    with transaction.manager:
        dbsession = get_tm_session(get_session_factory(engine), transaction.manager)
        account = Account(email=EMAIL, display_name=NAME, password_hash=hash_password(PASSWORD),
                          kind="registrant", created_at=now, email_confirmed_at=now)
        dbsession.add(account)
        dbsession.flush()
        accept_current_terms(dbsession, account)
        site = dbsession.scalar(select(Site).where(Site.code == SITE_CODE))
        dbsession.add(Registration(
            account_id=account.id, site_id=site.id, tier="premium", relationship_types=[1],
            connections=["birthplace"], registered_at=now, state_changed_at=now,
            premium_since=now, premium_until=now + timedelta(days=300),
        ))
    engine.dispose()
    return EMAIL


def test_card_qr_verifies_online_and_offline(live_server, premium_holder, browser, ja):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    sign_in(page, live_server, premium_holder, PASSWORD)
    page.goto(live_server + "/my/card")
    card = page.locator("main").inner_text()
    assert SITE_NAME in card and ja("Premium") in card and "プレミアム登録の有効期限" in card
    qr = page.locator("figure.card-qr")
    assert qr.count() == 1 and qr.locator("img").is_visible()
    statement = qr.get_attribute("data-statement")
    screenshot(page, "card_with_qr")

    staff = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    counter = staff.new_page()
    counter.goto(f"{live_server}/verify?s={statement}")
    verdict = counter.locator(".verdict-valid")
    verdict.wait_for()
    shown = counter.locator("main").inner_text()
    assert ja("VALID") in verdict.inner_text() and SITE_NAME in shown and ja("Premium") in shown
    assert NAME not in counter.content() and EMAIL not in counter.content()
    screenshot(counter, "verify_valid")

    counter.goto(live_server + "/verify/offline")
    counter.locator("form#offline-verifier[data-ready=true]").wait_for()
    counter.wait_for_function(
        """async () => {
            await navigator.serviceWorker.ready;
            const cache = await caches.open("furusato-verify-v1");
            return !!(await cache.match(location.origin + "/verify/offline"));
        }"""
    )
    staff.set_offline(True)
    counter.goto(f"{live_server}/verify?s={statement}")
    checked = counter.locator("#offline-result .verdict-valid")
    checked.wait_for()
    assert SITE_NAME in checked.inner_text() and ja("Premium") in checked.inner_text()
    screenshot(counter, "verify_offline_valid")

    counter.locator("#statement").fill(statement[:-5] + "AAAAA")
    counter.locator("form#offline-verifier button[type=submit]").click()
    counter.locator("#offline-result .verdict-invalid").wait_for()
    assert counter.locator("#offline-result .verdict-valid").is_hidden()
    staff.close()
    context.close()


def test_card_opened_after_expiry_hides_its_qr(live_server, premium_holder, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    page.clock.install()
    sign_in(page, live_server, premium_holder, PASSWORD)
    page.goto(live_server + "/my/card")
    qr = page.locator("figure.card-qr")
    assert qr.locator("img").is_visible()
    page.clock.fast_forward("06:00")
    qr.locator("[data-when-expired]").wait_for()
    assert qr.locator("img").is_hidden()
    assert "有効期限が切れました" in qr.inner_text()
    context.close()
