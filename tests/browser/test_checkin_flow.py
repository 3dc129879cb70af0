"""A coordinator sets up an activity and its QR poster; a registrant scans the code (opens
the check-in URL on a phone), records attendance with one tap, and sees it in their history."""
from datetime import datetime, timedelta

import pytest

from furusato_cms.clock import TOKYO
from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import screenshot, sign_in, sign_out

pytestmark = pytest.mark.browser
TITLE = "川の清掃ボランティア"


def local(moment):
    return moment.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


def test_coordinator_sets_up_registrant_checks_in(live_server, page, ja):
    base = live_server
    sign_in(page, base, "coordinator@example.jp", DEMO_PASSWORD)
    page.goto(base + "/s/202011/projects/new")
    page.get_by_label(ja("Title"), exact=True).fill(TITLE)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.get_by_role("button", name=ja("Publish now")).click()
    page.wait_for_load_state()

    page.get_by_role("link", name=ja("Add a session")).click()
    now = datetime.now(TOKYO)
    page.get_by_label(ja("Starts (Japan time)")).fill(local(now - timedelta(minutes=10)))
    page.get_by_label(ja("Ends (Japan time)")).fill(local(now + timedelta(hours=2)))
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()

    page.locator("a[href$='/attendance']").first.click()
    page.wait_for_load_state()
    checkin_url = page.locator("main").inner_text().split("/checkin/")[1].split()[0]
    checkin_url = base + "/checkin/" + checkin_url
    poster = page.locator("a[href$='poster.pdf']").first.get_attribute("href")
    pdf = page.request.get(poster if poster.startswith("http") else base + poster)
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    screenshot(page, "coordinator_session_attendance")
    sign_out(page)

    sign_in(page, base, "registrant@example.jp", DEMO_PASSWORD)
    page.goto(checkin_url)
    page.get_by_role("button", name=ja("Record my attendance")).click()
    page.wait_for_load_state()
    screenshot(page, "registrant_checked_in")
    page.goto(base + "/my/activities")
    assert TITLE in page.locator("main").inner_text()
    screenshot(page, "registrant_activity_history")
