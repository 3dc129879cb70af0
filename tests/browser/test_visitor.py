"""A visitor on a phone finds a town, reads its page and a post."""
import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_visitor_finds_a_site_and_reads_a_post(live_server, page):
    page.goto(live_server + "/")
    page.get_by_label("都道府県").select_option("20")
    page.get_by_role("button", name="検索する").click()
    screenshot(page, "home")
    page.get_by_role("link", name="長野市").click()
    assert page.get_by_role("heading", name="長野市について").is_visible()
    page.get_by_role("link", name="りんご収穫のお手伝いを募集します").click()
    article = page.locator("article").inner_text()
    assert "農園" in article and "農業・漁業" in article and "イベント" in article
    screenshot(page, "post")


def test_language_switch_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/s/202011/")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("link", name="Sign in").is_visible()
    screenshot(page, "site_en")
    context.close()
