"""A registrant with three designated activities at 松本市 applies for premium registration,
sees the premium mark on the card, and the card's QR verifies at /verify."""
from datetime import date, timedelta

import pytest
import transaction
from sqlalchemy import select, update

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    IdentityVerification,
    Project,
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
EMAIL, NAME, PASSWORD = "premium.applicant@example.jp", "申請 花子", "furusato-premium-browser"


@pytest.fixture(scope="module")
def applicant(live_db_url):
    """Verified (living in 千代田区), basic-registered with 松本市, three activities there."""
    now = system_clock()
    engine = get_engine({"furusato.db_url": live_db_url})
    with transaction.manager:
        db = get_tm_session(get_session_factory(engine), transaction.manager)
        db.execute(update(Site).where(Site.code == "202029").values(premium_auto_approve=True))
        site = db.scalar(select(Site).where(Site.code == "202029"))
        account = Account(email=EMAIL, display_name=NAME, password_hash=hash_password(PASSWORD),
                          kind="registrant", created_at=now, email_confirmed_at=now)
        db.add(account)
        db.flush()
        accept_current_terms(db, account)
        db.add(IdentityVerification(
            account_id=account.id, issuer="http://test", subject="premium-applicant", name=NAME,
            address="東京都千代田区千代田1-1", postal_code="1000001", home_code="131016",
            birthdate=date(1985, 4, 12), gender="female", verified_at=now))
        db.add(Registration(account_id=account.id, site_id=site.id, relationship_types=[1],
                            connections=["volunteering"], registered_at=now,
                            state_changed_at=now))
        project = Project(site_id=site.id, slug="premium-browser", title="草刈り", body="",
                          state="published", designated=True, created_at=now, updated_at=now,
                          published_at=now)
        db.add(project)
        db.flush()
        for months_ago in (1, 2, 3):
            start = now - timedelta(days=30 * months_ago)
            session = ActivitySession(project_id=project.id, site_id=site.id, starts_at=start,
                                      ends_at=start + timedelta(hours=2), created_at=now)
            db.add(session)
            db.flush()
            db.add(Attendance(session_id=session.id, account_id=account.id, site_id=site.id,
                              attended_at=start, recorded_at=start, source="qr",
                              designated=True))
    engine.dispose()
    return EMAIL


def test_apply_for_premium_and_verify_the_card(live_server, applicant, page, browser, ja):
    sign_in(page, live_server, applicant, PASSWORD)
    page.goto(live_server + "/my/premium")
    assert "3" in page.locator("main").inner_text()
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    screenshot(page, "premium_applied")

    page.goto(live_server + "/my/card")
    card = page.locator("main").inner_text()
    assert "松本市" in card and ja("Premium") in card
    statement = page.locator("figure.card-qr").first.get_attribute("data-statement")
    screenshot(page, "premium_card")

    counter = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    counter.goto(f"{live_server}/verify?s={statement}")
    verdict = counter.locator(".verdict-valid")
    verdict.wait_for()
    assert ja("VALID") in verdict.inner_text() and ja("Premium") in counter.content()
    assert NAME not in counter.content()
    counter.context.close()


