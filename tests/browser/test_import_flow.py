"""A coordinator imports the national sample as it is (four rows dated in 2027, not yet
held): the check keeps the file, the valid rows are imported with one button, the result
lists the activities and the people kept until they verify, and the rows to fix come back
as a workbook — on a phone (390 px, screenshots) as on a desktop."""
import io

import openpyxl
import pytest

from furusato_cms.scripts.demo import DEMO_PASSWORD

from ..fixtures_import import SAMPLE_XLSX
from .conftest import screenshot, sign_in
from .test_axe_crawl import _report, violations_here
from .test_tables_on_phones import NARROW_CELLS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    """A page that may run axe-core (the app's CSP blocks injected scripts)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP",
                                  bypass_csp=True)
    yield context.new_page()
    context.close()


def no_axe_violations(page):
    found = violations_here(page)
    assert not found, _report([("coordinator", page.viewport_size["width"], page.url, found)])


def test_import_the_valid_rows_of_the_national_sample(live_server, page, ja):
    sign_in(page, live_server, "coordinator@example.jp", DEMO_PASSWORD)
    page.goto(live_server + "/s/202011/imports/")
    page.locator("input[type=file]").set_input_files(str(SAMPLE_XLSX))
    page.locator("button[name=check]").click()
    page.wait_for_load_state()
    report = page.locator("section[aria-labelledby=report-heading]")
    assert "14 行のうち 4 行に問題があります" in report.inner_text()
    screenshot(page, "import_check_390")
    no_axe_violations(page)

    with page.expect_download() as download:
        page.get_by_role("link", name=ja("Download the rows to fix")).click()
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert workbook.active.max_row == 3 + 4

    page.get_by_role("button", name="正しい 10 行だけを取り込む").click()
    page.wait_for_load_state()
    assert "/s/202011/imports/" in page.url and page.locator("h1").inner_text() == ja(
        "Import report")
    assert page.locator("#activities-heading + div table tbody tr, "
                        "#activities-heading ~ .table-wrap table tbody tr").count() >= 1
    assert page.evaluate(NARROW_CELLS) == []
    screenshot(page, "import_result_390")
    no_axe_violations(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "import_result_1280")
    no_axe_violations(page)
