"""The editors' formatting toolbar and live preview: the toolbar is in the page (hidden
until the script shows it) with real buttons labelled in Japanese, the textarea works
on its own, and the preview endpoint renders with the public pages' renderer, behind
CSRF and the editing permission."""
import pytest

from furusato_cms.markup import render_markdown
from furusato_cms.services.publishing import BODY_MAX

from ..activity_factories import make_project
from ..content_factories import csrf_token, signed_in_staff
from ..factories import NAGANO_CITY, make_site
from ..support_factories import make_measure

BASE = f"/s/{NAGANO_CITY}"
SOURCE = ("## 集合場所\n\n- 長靴\n- 軍手\n\n[地図](https://example.jp/map)\n\n"
          "| 日 | 時間 |\n| --- | --- |\n| 土 | 9時 |\n\n<script>alert(1)</script>")


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def editor(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor")


@pytest.mark.parametrize("path", ["/posts/new", "/intro/edit", "/support/new"])
def test_body_has_a_hidden_toolbar_of_real_buttons_and_a_plain_textarea(testapp, editor, path):
    page = testapp.get(BASE + path)
    editor_box = page.html.select_one(".markdown-editor")
    toolbar = editor_box.select_one(".markdown-toolbar")
    assert toolbar.has_attr("hidden") and editor_box.select_one(".markdown-preview")["hidden"] \
        is not None
    labels = [b.text for b in toolbar.select('button[type="button"]')]
    assert labels == ["見出し", "小見出し", "太字", "箇条書き", "番号付きリスト", "リンク", "画像", "表"]
    area = editor_box.select_one("textarea")
    assert area["name"] == "body" and all(b["aria-controls"] == area["id"]
                                          for b in toolbar.select("button"))
    assert editor_box["data-preview-url"].endswith("/markdown-preview")
    script = editor_box.select_one("script")
    assert script["src"].endswith("/static/markdown-editor.js") and not script.text.strip()


def test_the_script_is_served_by_the_app(testapp):
    script = testapp.get("/static/markdown-editor.js")
    assert "markdown-preview-body" in script.text


def test_preview_renders_exactly_like_the_public_page(testapp, editor):
    token = csrf_token(testapp, BASE + "/posts/new")
    answer = testapp.post(BASE + "/posts/markdown-preview", {"csrf_token": token, "body": SOURCE})
    assert answer.content_type == "text/html" and answer.headers["Cache-Control"] == "no-store"
    assert answer.text == str(render_markdown(SOURCE))
    html = answer.html
    assert html.select_one("h2").text == "集合場所"
    assert [li.text for li in html.select("ul li")] == ["長靴", "軍手"]
    assert html.select_one("table td").text == "土"
    assert html.select_one("script") is None and "&lt;script&gt;" in answer.text


def test_preview_needs_the_csrf_token(testapp, editor):
    testapp.post(BASE + "/posts/markdown-preview", {"body": "## x"}, status=400)


def test_preview_refuses_a_body_longer_than_a_post_may_be(testapp, editor):
    token = csrf_token(testapp, BASE + "/posts/new")
    answer = testapp.post(BASE + "/posts/markdown-preview",
                          {"csrf_token": token, "body": "a" * (BODY_MAX + 1)}, status=400)
    assert str(BODY_MAX) in answer.text


def test_a_slug_cannot_shadow_the_preview(testapp, dbsession, editor):
    form = testapp.get(BASE + "/posts/new").forms["deform"]
    form["title"] = "題"
    form["slug"] = "markdown-preview"
    assert form.submit("save", status=400)


def test_publishing_box_comes_after_the_content(testapp, dbsession, site, editor):
    form = testapp.get(BASE + "/posts/new").forms["deform"]
    form["title"] = "順番"
    form["slug"] = "order"
    page = form.submit("save").follow()
    text = page.text
    assert text.index('id="deform"') < text.index('id="workflow-heading"')


def test_project_and_measure_pages_put_publishing_after_the_content(
        testapp, dbsession, site, clock, app_settings):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "site_admin",
                    email="admin@example.jp")
    project = make_project(dbsession, site, state="draft")
    measure = make_measure(dbsession, site, state="draft")
    for path in (f"/projects/{project.id}/edit", f"/support/{measure.id}/edit"):
        text = testapp.get(BASE + path).text
        assert text.index('class="markdown-editor"') < text.index('id="workflow-heading"')


def test_tags_are_compact_check_boxes(testapp, editor):
    page = testapp.get(BASE + "/posts/new")
    group = page.html.select_one("fieldset.chip-choice")
    assert group is not None and len(group.select('input[type="checkbox"]')) >= 10
