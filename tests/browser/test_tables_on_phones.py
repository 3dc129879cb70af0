"""Tables on phones: the attendance list a coordinator holds at the venue, the operator's
site table and the posts list show each row as a card at 390 px, so no cell is squeezed
narrower than 4 em (screenshots at 390 and 1280 px under tests/browser/screenshots/)."""
from datetime import timedelta

import pytest
import transaction
from sqlalchemy import select

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    Account,
    ActivitySession,
    Attendance,
    Project,
    Site,
    get_engine,
    get_session_factory,
    get_tm_session,
)
from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

NARROW_CELLS = """() => [...document.querySelectorAll('main table td, main table th')]
  .filter(cell => cell.getClientRects().length && cell.offsetParent !== null
                  && getComputedStyle(cell.closest('thead') || cell).position !== 'absolute')
  .map(cell => ({text: cell.innerText.slice(0, 30), width: cell.getBoundingClientRect().width,
                 em: parseFloat(getComputedStyle(cell).fontSize)}))
  .filter(cell => cell.width < 4 * cell.em)"""
"""Every visible cell narrower than 4 em of its own font size (the header row, kept
off-screen for screen readers on phones, is not visible)."""


@pytest.fixture(scope="module")
def session_path(live_db_url):
    """An activity of 長野市 with a session and three people recorded (one voided)."""
    now = system_clock()
    engine = get_engine({"furusato.db_url": live_db_url})
    with transaction.manager:
        db = get_tm_session(get_session_factory(engine), transaction.manager)
        site = db.scalar(select(Site).where(Site.code == "202011"))
        project = Project(site_id=site.id, slug="tables-on-phones", title="棚田の草刈り",
                          body="", state="published", designated=True, created_at=now,
                          updated_at=now, published_at=now)
        db.add(project)
        db.flush()
        session = ActivitySession(project_id=project.id, site_id=site.id, starts_at=now,
                                  ends_at=now + timedelta(hours=2), place="中央公民館",
                                  created_at=now)
        db.add(session)
        db.flush()
        for number, name in enumerate(("山田 太郎", "佐々木 みどり", "長谷川 健一郎")):
            account = Account(email=f"table.person{number}.longer-address@example.jp",
                              display_name=name, kind="registrant", created_at=now,
                              email_confirmed_at=now)
            db.add(account)
            db.flush()
            db.add(Attendance(session_id=session.id, account_id=account.id, site_id=site.id,
                              attended_at=now, recorded_at=now, source="qr", designated=True,
                              voided_at=now if number == 2 else None,
                              void_reason="別の方と取り違えました" if number == 2 else ""))
        path = f"/s/202011/projects/{project.id}/sessions/{session.id}/attendance"
    engine.dispose()
    return path


def check_and_shoot(page, name):
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_load_state()
    assert page.locator("main table tbody tr").count() >= 1
    assert page.evaluate(NARROW_CELLS) == []
    screenshot(page, f"table_{name}_390")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.evaluate(NARROW_CELLS) == []
    screenshot(page, f"table_{name}_1280")


def test_attendance_list_on_a_phone(live_server, page, session_path):
    sign_in(page, live_server, "coordinator@example.jp", DEMO_PASSWORD)
    page.goto(live_server + session_path)
    assert page.locator("main td[data-label]").count() == 12
    check_and_shoot(page, "attendance")


def test_operator_site_table_on_a_phone(live_server, page):
    sign_in(page, live_server, "operator@example.jp", DEMO_PASSWORD)
    page.goto(live_server + "/operator/")
    check_and_shoot(page, "operator_sites")


def test_posts_list_on_a_phone(live_server, page):
    sign_in(page, live_server, "editor@example.jp", DEMO_PASSWORD)
    page.goto(live_server + "/s/202011/posts/manage")
    check_and_shoot(page, "posts")
