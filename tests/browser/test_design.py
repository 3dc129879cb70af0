"""The design system's parts as people meet them (issue 18 item 8): the phone header in one
row with a menu that opens without JavaScript, breadcrumbs, the 「必須」 mark."""
import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def no_script_phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP",
                                  java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_phone_header_is_one_row_and_its_menu_opens_without_javascript(live_server,
                                                                      no_script_phone):
    page = no_script_phone
    page.goto(live_server + "/s/202011/")
    brand = page.locator(".brand").bounding_box()
    summary = page.locator(".header-menu > summary")
    menu = summary.bounding_box()
    assert summary.is_visible() and summary.inner_text().strip() == "メニュー"
    assert abs((brand["y"] + brand["height"] / 2) - (menu["y"] + menu["height"] / 2)) < 12
    assert page.locator(".header-inner").bounding_box()["height"] < 80
    signin = page.get_by_role("link", name="ログイン")
    assert not signin.is_visible()
    summary.click()
    assert signin.is_visible()
    screenshot(page, "header-menu-open-390")


def test_wide_screens_show_the_account_links_without_a_menu_button(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.goto(live_server + "/s/202011/")
    assert not page.locator(".header-menu > summary").is_visible()
    assert page.get_by_role("link", name="ログイン").is_visible()
    context.close()


def test_breadcrumbs_lead_back_to_the_site(live_server, page):
    page.goto(live_server + "/s/202011/projects/")
    crumbs = page.get_by_role("navigation", name="現在位置")
    assert crumbs.get_by_role("link", name="長野市").get_attribute("href").endswith("/s/202011/")
    current = crumbs.locator("[aria-current=page]")
    assert current.inner_text() == "担い手活動"


def test_required_fields_say_so_beside_their_label(live_server, page):
    page.goto(live_server + "/signup")
    row = page.locator(".label-row", has=page.locator(".required-mark")).first
    assert "必須" in row.inner_text()
    field = page.get_by_label(row.locator("label").inner_text(), exact=True)
    assert field.get_attribute("required") is not None
