"""A new person on a phone: sign up, confirm by mail, verify identity with the (local)
My Number Card provider, register with 松本市, and see 松本市 and 長野県 on the card."""
import re

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser
PASSWORD = "furusato-browser-test"


def test_sign_up_verify_register_and_show_the_card(live_server, page, mail_catcher, ja):
    email = "new.person@example.jp"
    page.goto(live_server + "/signup")
    page.get_by_label(ja("Email address")).fill(email)
    page.get_by_label(ja("Your name")).fill("山田 太郎")
    page.get_by_label(ja("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(ja("Password again")).fill(PASSWORD)
    page.get_by_label(ja("I have read and accept the terms of use")).check()
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    mail = next(m for m in reversed(mail_catcher.messages(to=email)))
    link = re.search(r"https?://\S+/confirm/\S+", mail["text"]).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/my/")

    page.goto(live_server + "/my/identity")
    page.get_by_role("button", name=ja("Verify with My Number Card")).click()
    screenshot(page, "provider_page")
    page.get_by_role("button", name=re.compile("山田 太郎")).click()
    page.wait_for_url("**/my/identity**")
    assert "千代田区" in page.locator("main").inner_text()

    page.goto(live_server + "/s/202029/register")
    page.locator("input[type=checkbox][value='2']").check()
    page.locator("input[type=checkbox][value='birthplace']").check()
    page.get_by_label(ja("I have read and accept how my personal data is handled "
                         "(privacy notice)")).check()
    page.locator("main form button[type=submit]").first.click()
    page.get_by_role("button", name=ja("Register"), exact=True).click()
    page.wait_for_url("**/my/")

    page.goto(live_server + "/my/card")
    card = page.locator("main").inner_text()
    screenshot(page, "registration_card")
    assert "松本市" in card and "長野県" in card
    assert re.search("松本市.*経由|via 松本市", card, re.S)
