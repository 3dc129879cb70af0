"""At the venue without a phone scan: the registrant's card code page shows a 12-digit
code with its expiry and never reloads itself; the coordinator types it, a mistyped
digit is caught by the check digit, the right code records the attendance."""
from datetime import timedelta

import pytest
import transaction
from sqlalchemy import select

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    ActivitySession,
    Project,
    Site,
    get_engine,
    get_session_factory,
    get_tm_session,
)
from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def attendance_path(live_db_url):
    now = system_clock()
    engine = get_engine({"furusato.db_url": live_db_url})
    with transaction.manager:
        db = get_tm_session(get_session_factory(engine), transaction.manager)
        site = db.scalar(select(Site).where(Site.code == "202011"))
        project = Project(site_id=site.id, slug="card-code-flow", title="公民館の大掃除",
                          body="", state="published", designated=True, created_at=now,
                          updated_at=now, published_at=now)
        db.add(project)
        db.flush()
        session = ActivitySession(project_id=project.id, site_id=site.id, starts_at=now,
                                  ends_at=now + timedelta(hours=2), created_at=now)
        db.add(session)
        db.flush()
        path = f"/s/202011/projects/{project.id}/sessions/{session.id}/attendance"
    engine.dispose()
    return path


def test_registrant_reads_out_the_code_and_staff_type_it(live_server, page, browser, ja,
                                                         attendance_path):
    base = live_server
    sign_in(page, base, "registrant@example.jp", DEMO_PASSWORD)
    page.goto(base + "/my/card-code")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    code = page.locator(".card-code-digits").inner_text()
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert "まで有効（日本時間）" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "registrant_card_code")

    staff = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP").new_page()
    sign_in(staff, base, "coordinator@example.jp", DEMO_PASSWORD)
    staff.goto(base + attendance_path)
    field = staff.get_by_label(ja("Card code"))
    digits = code.replace("-", "")
    typo = digits[:6] + str((int(digits[6]) + 1) % 10) + digits[7:]
    field.fill(typo)
    staff.get_by_role("button", name=ja("Record from card")).click()
    staff.wait_for_load_state()
    assert "チェック数字が合いません" in staff.locator("main").inner_text()
    screenshot(staff, "coordinator_card_code_typo")

    staff.get_by_label(ja("Card code")).fill(code.replace("-", " "))
    staff.get_by_role("button", name=ja("Record from card")).click()
    staff.wait_for_load_state()
    assert "出席を記録しました" in staff.locator("main").inner_text()
    assert staff.locator("main td[data-label]").count() == 4
    screenshot(staff, "coordinator_card_code_recorded")
    staff.context.close()
