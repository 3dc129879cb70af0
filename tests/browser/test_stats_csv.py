"""A site admin opens the statistics dashboard of 長野市 in a real browser, sees the charts
drawn without JavaScript, and downloads tables as CSV whose numbers match the page."""
import csv
import io
import re
from datetime import date, timedelta

import pytest
import transaction
from sqlalchemy import select

from furusato_cms.clock import system_clock
from furusato_cms.models import (
    Account,
    IdentityVerification,
    Registration,
    RegistrationEvent,
    Site,
    get_engine,
    get_session_factory,
    get_tm_session,
)
from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser
SITE_CODE = "202011"
TABLES = ("summary", "types", "connections", "home_prefectures", "age_gender", "trend")


@pytest.fixture(scope="module")
def registrants(live_db_url):
    """Fourteen verified people who registered with 長野市 over the past months (eleven
    from Tokyo, so one group reaches 10 and others stay under it), committed to the live
    database."""
    now = system_clock()
    engine = get_engine({"furusato.db_url": live_db_url})
    with transaction.manager:
        dbsession = get_tm_session(get_session_factory(engine), transaction.manager)
        site = dbsession.scalar(select(Site).where(Site.code == SITE_CODE))
        for number in range(14):
            account = Account(email=f"stats{number}@example.jp", display_name=f"統計 {number}",
                              kind="registrant", created_at=now, email_confirmed_at=now)
            dbsession.add(account)
            dbsession.flush()
            dbsession.add_all([
                IdentityVerification(
                    account_id=account.id, issuer="https://id.example.jp",
                    subject=f"stats-{number}", name=account.display_name, address="",
                    home_code="131016" if number < 11 else "271004",
                    birthdate=date(1985 + number % 3, 4, 1), gender=("female", "male")[number % 2],
                    verified_at=now),
            ])
            joined = now - timedelta(days=20 * number)
            registration = Registration(
                account_id=account.id, site_id=site.id, relationship_types=[number % 4 + 1],
                connections=["tourism", "birthplace"][: 1 + number % 2],
                tier="premium" if number % 5 == 0 else "basic",
                registered_at=joined, state_changed_at=joined)
            registration.events.append(RegistrationEvent(kind="joined", at=joined, detail={}))
            dbsession.add(registration)
    engine.dispose()


def page_table(page, name) -> list:
    return page.locator(f"table[data-table={name}]").evaluate(
        """table => [...table.querySelectorAll('thead tr, tbody tr')].map(
            tr => [...tr.children].map(cell => cell.textContent.trim()))"""
    )


def plain(cell: str) -> str:
    """A cell as the CSV writes it: numbers without the page's thousands separators,
    headings without the page's mark of the sorted column."""
    cell = cell.removesuffix(" ▼").removesuffix(" ▲")
    return cell.replace(",", "") if re.fullmatch(r"[\d,]+", cell) else cell


def downloaded(page, name) -> list:
    link = page.locator(f"section[aria-labelledby=t-{name}] a.csv-link")
    with page.expect_download() as info:
        link.click()
    body = open(info.value.path(), "rb").read()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_dashboard_csv_matches_the_page(live_server, registrants, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="ja-JP",
                                  java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server, "admin@example.jp", DEMO_PASSWORD)
    page.goto(f"{live_server}/s/{SITE_CODE}/stats")
    assert page.locator("svg[role=img] title").count() >= 5
    screenshot(page, "stats_dashboard")
    for name in TABLES:
        shown = page_table(page, name)
        assert [[plain(cell) for cell in row] for row in shown] == downloaded(page, name)
    summary = {row[0]: row[1] for row in page_table(page, "summary")[1:]}
    assert int(summary["登録している人（居住地での登録を除く）"]) >= 14
    prefectures = {row[1]: row[2] for row in page_table(page, "home_prefectures")[1:]}
    assert prefectures["大阪府"] == "<10" and int(prefectures["東京都"]) >= 11
    context.close()


def test_operator_counts_the_nation_and_downloads_its_tables(live_server, registrants, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="ja-JP",
                                  accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server, "operator@example.jp", DEMO_PASSWORD)
    page.goto(f"{live_server}/operator/stats")
    page.get_by_role("button", name="今すぐ集計する").click()
    page.wait_for_load_state()
    screenshot(page, "stats_national")
    for name in ("aims", "sites_by_state", "types", "sites"):
        shown = page_table(page, name)
        assert [[plain(cell) for cell in row] for row in shown] == downloaded(page, name)
    aims = {row[0]: row[1:] for row in page_table(page, "aims")[1:]}
    assert int(plain(aims["実人数"][0])) >= 14 and aims["実人数"][1] == "10,000,000"
    context.close()
