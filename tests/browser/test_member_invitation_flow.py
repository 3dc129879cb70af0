"""A coordinator invites a fan club's list (attest, check, send); the sender mails it over
SMTP; the member opens the mail's link on a phone, creates an account without confirming
the address again, lands on 長野市's registration and registers; the coordinator sees the
funnel move. axe-core finds nothing on the screens at 390 px."""
import re

import pytest

from furusato_cms.appsettings import AppSettings
from furusato_cms.clock import system_clock
from furusato_cms.models import get_engine, get_session_factory
from furusato_cms.scripts.demo import DEMO_PASSWORD
from furusato_cms.scripts.send_campaign import run

from ..conftest import base_settings, service_settings
from .conftest import screenshot, sign_in
from .test_import_flow import no_axe_violations

pytestmark = pytest.mark.browser
EMAIL = "fanclub.member@example.jp"
PASSWORD = "ringo-batake-no-asa-2026"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP",
                                  bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def member_page(browser):
    """The member's own phone: another browser, nobody signed in."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP",
                                  bypass_csp=True)
    yield context.new_page()
    context.close()


def send_the_queue(live_db_url, live_server, mail_catcher, oidc_provider) -> dict:
    """furusato-send-campaign's run against the live server's database."""
    settings = base_settings(live_db_url, **{**service_settings(mail_catcher, oidc_provider),
                                             "furusato.base_url": live_server})
    engine = get_engine(settings)
    try:
        return run(get_session_factory(engine), AppSettings.from_settings(settings),
                   system_clock)
    finally:
        engine.dispose()


def test_invitation_mail_to_sign_up_to_registration(live_server, live_db_url, page, member_page,
                                                    mail_catcher, oidc_provider, ja, tmp_path):
    listing = tmp_path / "ファンクラブ会員.csv"
    listing.write_text(f"会員番号,氏名,メールアドレス\n101,りんご 花子,{EMAIL}\n",
                       encoding="utf-8")
    sign_in(page, live_server, "coordinator@example.jp", DEMO_PASSWORD)
    page.goto(live_server + "/s/202011/members/")
    no_axe_violations(page)
    page.locator("input[type=file]").set_input_files(str(listing))
    page.get_by_label(ja("A few words from the site (optional)")).fill(
        "いつも長野市を応援いただき、ありがとうございます。")
    page.locator("input[name=attest]").check()
    page.get_by_role("button", name=ja("Check the list")).click()
    page.wait_for_load_state()
    assert "招待するのは 1 人" in page.locator("main").inner_text()
    screenshot(page, "members_check_390")
    no_axe_violations(page)
    page.get_by_role("button", name="1 人に招待を送る").click()
    page.wait_for_load_state()
    assert "1 件の招待を送信待ちにしました。" in page.locator("main").inner_text()

    assert send_the_queue(live_db_url, live_server, mail_catcher, oidc_provider)[
        "invitations_sent"] == 1
    mail = mail_catcher.messages(to=EMAIL)[-1]
    assert "りんご 花子 様" in mail["text"]
    link = re.search(r"https?://\S+/welcome/(?!stop/)\S+", mail["text"]).group(0)

    member_page.goto(link)
    assert "長野市からの招待" in member_page.locator("h1").inner_text()
    screenshot(member_page, "welcome_390")
    no_axe_violations(member_page)
    assert member_page.get_by_label(ja("Your name")).input_value() == "りんご 花子"
    member_page.get_by_label(ja("Password"), exact=True).fill(PASSWORD)
    member_page.get_by_label(ja("Password again")).fill(PASSWORD)
    member_page.get_by_label(ja("I have read and accept the terms of use")).check()
    member_page.get_by_role("button", name=ja("Create my account and register")).click()
    member_page.wait_for_url("**/s/202011/register")
    assert "いくつかの質問に答えて、長野市に登録してください。" in member_page.inner_text("body")

    member_page.locator("input[type=checkbox][value='2']").check()
    member_page.locator("input[type=checkbox][value='birthplace']").check()
    member_page.locator("input[name=postal_code]").fill("100-0001")
    member_page.get_by_label(ja("I have read and accept how my personal data is handled "
                                "(privacy notice)")).check()
    member_page.locator("main form button[type=submit]").first.click()
    member_page.get_by_role("button", name=ja("Register"), exact=True).click()
    member_page.wait_for_url("**/my/")

    member_page.goto(link)
    assert "このリンクは使えません" in member_page.locator("h1").inner_text()

    page.goto(live_server + "/s/202011/members/")
    row = page.locator("table.stack-table tbody tr").first
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[2:] == ["1", "1", "1", "0"]
    screenshot(page, "members_list_390")
