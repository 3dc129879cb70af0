"""The main staff flow in a real browser: an editor writes and submits a post, a reviewer
publishes it, and a visitor sees it on the site's page."""
import pytest

from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import open_menu, pass_second_factor, screenshot

pytestmark = pytest.mark.browser


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


def test_editor_writes_reviewer_publishes_visitor_reads(live_server, page, browser):
    base = live_server
    sign_in(page, base, "editor@example.jp")
    page.goto(base + "/s/202011/posts/new")
    page.get_by_label("タイトル").fill("そば打ち体験の参加者募集")
    page.get_by_label("ページのアドレス（スラッグ）").fill("soba-2026")
    page.get_by_label("本文").fill("## そば打ち体験\n\n地元の名人と一緒にそばを打ちます。")
    page.get_by_role("button", name="下書きとして保存する").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="確認を依頼する").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="承認して公開する").count() == 0
    screenshot(page, "editor_submitted")
    sign_out(page)

    visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    visitor.goto(base + "/s/202011/")
    assert "そば打ち体験の参加者募集" not in visitor.content()

    sign_in(page, base, "reviewer@example.jp")
    page.goto(base + "/s/202011/posts/soba-2026/edit")
    page.get_by_role("button", name="承認して公開する").click()
    page.wait_for_load_state()
    screenshot(page, "reviewer_published")

    visitor.goto(base + "/s/202011/")
    visitor.get_by_role("link", name="そば打ち体験の参加者募集").click()
    assert "地元の名人" in visitor.locator("article").inner_text()
    screenshot(visitor, "visitor_reads_new_post")
    visitor.context.close()
