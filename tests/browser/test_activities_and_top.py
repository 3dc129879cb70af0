"""A newcomer on a phone (390 px): the top page explains the system and leads to the
activity search, which works with the form alone."""
import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_top_page_then_activity_search_on_a_phone(live_server, page):
    page.goto(live_server + "/")
    assert page.get_by_role("heading", level=1, name="ふるさと住民登録").is_visible()
    assert page.get_by_role("heading", name="登録の3ステップ").is_visible()
    assert page.locator("dl.counters").is_visible()
    assert page.locator("#featured-heading ~ ul.cards li").count() >= 1
    assert no_sideways_scroll(page)
    screenshot(page, "top_390")

    page.get_by_role("link", name="全国の活動をさがす").click()
    assert page.get_by_role("heading", level=1, name="全国の担い手活動をさがす").is_visible()
    page.get_by_label("都道府県").select_option("20")
    page.get_by_label("プレミアム登録の要件になる活動だけ").check()
    page.get_by_role("button", name="検索する").click()
    page.wait_for_url("**premium=1**")
    titles = page.locator("#results-heading ~ ul.cards h3 a").all_inner_texts()
    assert "りんご収穫のお手伝い" in titles and "善光寺門前まち歩きガイド" not in titles
    assert no_sideways_scroll(page)
    screenshot(page, "activities_390")
