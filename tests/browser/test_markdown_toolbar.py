"""An editor who does not know Markdown formats a post with the toolbar, sees the live
preview, saves, and the published page shows the formatted result."""
import pytest

from furusato_cms.scripts.demo import DEMO_PASSWORD

from .conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_toolbar_preview_save_and_public_page(live_server, page, browser, ja):
    base = live_server
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    sign_in(page, base, "admin@example.jp", DEMO_PASSWORD)
    page.goto(base + "/s/202011/posts/new")
    page.get_by_label(ja("Title"), exact=True).fill("雪かきボランティアの持ち物")
    page.get_by_label(ja("Address (slug)")).fill("snow-toolbar")
    body = page.locator("textarea[name=body]")
    body.click()

    page.get_by_role("button", name="見出し", exact=True).click()
    page.keyboard.type("持ち物")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="箇条書き").click()
    page.keyboard.type("長靴")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="箇条書き").click()
    page.keyboard.type("手袋")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="表", exact=True).click()
    page.keyboard.type("\n")
    page.get_by_role("button", name="リンク").click()
    page.keyboard.type("https://example.jp/snow")

    preview = page.locator(".markdown-preview-body")
    preview.locator("table").wait_for()
    assert preview.locator("h2").inner_text() == "持ち物"
    assert preview.locator("ul li").all_inner_texts() == ["長靴", "手袋"]
    assert preview.locator("a[href='https://example.jp/snow']").inner_text() == "リンクの文字"
    assert body.input_value().startswith("## 持ち物\n\n- 長靴\n- 手袋\n")
    screenshot(page, "editor_toolbar_preview")

    page.get_by_role("button", name=ja("Save as draft")).click()
    page.wait_for_load_state()
    for step in ("Submit for review", "Approve and publish"):
        button = page.get_by_role("button", name=ja(step))
        if button.count():
            button.click()
            page.wait_for_load_state()
    screenshot(page, "editor_toolbar_published")

    visitor = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    visitor.goto(base + "/s/202011/posts/snow-toolbar")
    article = visitor.locator("article")
    assert article.locator("h2").first.inner_text() == "持ち物"
    assert article.locator("ul li").all_inner_texts() == ["長靴", "手袋"]
    assert article.locator("table th").count() == 2
    screenshot(visitor, "visitor_reads_toolbar_post")
    visitor.context.close()
    assert not [e for e in errors if "Content Security Policy" in e]
