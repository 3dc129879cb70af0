"""A consultation (相談) in a real browser: the demo registrant asks 長野市, the demo
coordinator finds it in the queue and answers, the registrant is told by mail and replies.

Opening a consultation needs no registration with the site (people often ask before
registering), so the demo registrant starts from /my/consultations/new?site=202011 —
the address the site's community room links to."""
import re

import pytest

from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import open_menu, pass_second_factor, screenshot

pytestmark = pytest.mark.browser
REGISTRANT, COORDINATOR = "registrant@example.jp", "coordinator@example.jp"


def sign_in(page, base, email):
    page.goto(base + "/signin")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
    pass_second_factor(page)


def sign_out(page):
    open_menu(page)
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_load_state()


def test_a_registrant_and_a_coordinator_exchange_messages(live_server, page, mail_catcher):
    base = live_server
    subject = "二地域居住の住まいについて"
    sign_in(page, base, REGISTRANT)
    page.goto(base + "/my/consultations/new?site=202011")
    page.get_by_label("二地域居住・移住").check()
    page.get_by_label("件名").fill(subject)
    page.get_by_label("メッセージ").fill("冬の間だけ住める家を探しています。<b>よろしく</b>")
    page.get_by_role("button", name="相談を送る").click()
    page.wait_for_url(re.compile(r".*/my/consultations/\d+$"))
    assert "相談を送りました" in page.locator("main").inner_text()
    assert "<b>よろしく</b>" in page.locator("main .body-text").first.inner_text()
    screenshot(page, "consultation_sent")
    sign_out(page)
    assert any("/s/202011/consultations/" in m["text"]
               for m in mail_catcher.messages(to=COORDINATOR))

    sign_in(page, base, COORDINATOR)
    page.goto(base + "/s/202011/consultations/")
    page.get_by_role("link", name=subject).click()
    page.get_by_label("返信", exact=True).fill(
        "お問い合わせありがとうございます。https://example.jp/akiya をご覧ください。")
    page.get_by_role("button", name="送信する").click()
    page.wait_for_load_state()
    link = page.get_by_role("link", name="https://example.jp/akiya")
    assert link.get_attribute("rel") == "nofollow ugc noopener"
    assert "対応中" in page.locator("main").inner_text()
    screenshot(page, "consultation_answered")
    sign_out(page)

    notice = next(m for m in reversed(mail_catcher.messages(to=REGISTRANT))
                  if "/my/consultations/" in m["text"])
    path = re.search(r"https?://[^/\s]+(/my/consultations/\d+)", notice["text"]).group(1)
    sign_in(page, base, REGISTRANT)
    page.goto(base + path)
    assert "お問い合わせありがとうございます" in page.locator("main").inner_text()
    page.get_by_label("返信", exact=True).fill("ありがとうございます。見てみます。")
    page.get_by_role("button", name="送信する").click()
    page.wait_for_load_state()
    messages = page.locator("main ol.messages > li")
    assert messages.count() == 3
    assert "見てみます" in messages.nth(2).inner_text()
    screenshot(page, "consultation_exchange")
