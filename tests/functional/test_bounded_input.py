"""Bounded input (issue 13, items 2 and 3): request bodies over their kind's limit are
answered 413 unread, every text field has a length cap and a refused value is not shown
back whole, and NUL, other control characters or broken UTF-8 in parameters get a 400
page instead of a database error (PostgreSQL refuses NUL in text)."""
import gc
import pathlib

import colander
import pytest
from pyramid.request import Request
from webtest import TestApp

import furusato_cms
from furusato_cms import main
from furusato_cms.appsettings import AppSettings
from furusato_cms.request_guard import PARSED_QUERY, REFUSED_BODY, InputGuard
from furusato_cms.schemas.fields import LINE_MAX, PATH_MAX, Text, local_path

from ..attendance_factories import make_checkin_world
from ..conftest import NOW, base_settings
from ..factories import PASSWORD, make_site, make_staff, sign_in
from ..registrant_factories import make_registrant

BAD_BYTES = "入力された内容に制御文字"


def main_text(page) -> str:
    return page.html.find("main").get_text(" ", strip=True)


# -- item 2: body limits per kind of request ---------------------------------------------

@pytest.fixture
def small_limits_app(db_url):
    """The application with a 10 KB form limit and a 100 KB upload limit; only pages
    that need no database rows are asked for."""
    return TestApp(main({}, **base_settings(db_url, **{
        "furusato.form_body_max_bytes": "10000", "furusato.upload_body_max_bytes": "100000"})))


def test_a_form_body_over_the_form_limit_is_answered_413_unread(small_limits_app):
    page = small_limits_app.post("/signin", {"came_from": "/" + "x" * 20_000}, status=413)
    assert "一度に送られた量が多すぎます" in page.text
    assert "0.01 MB" in main_text(page)
    assert "xxxxxxxxxx" not in page.text


def test_multipart_bodies_get_the_upload_limit_and_no_more(small_limits_app):
    fields = [("came_from", "/" + "x" * 50_000)]
    passed = small_limits_app.post("/signin", fields, content_type="multipart/form-data",
                                   status="*")
    assert passed.status_int != 413
    fields = [("came_from", "/" + "x" * 150_000)]
    refused = small_limits_app.post("/signin", fields, content_type="multipart/form-data",
                                    status=413)
    assert "0.1 MB" in main_text(refused)


def test_the_limit_is_read_from_content_length_before_the_body(small_limits_app):
    """The body is swapped for an empty one: nothing downstream reads a byte of it."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    guard = InputGuard(app, small_limits_app.app.registry["app_settings"])
    TestApp(guard).post("/signin", {"x": "y" * 20_000})
    assert seen[REFUSED_BODY] == 10_000
    assert seen["CONTENT_LENGTH"] == "0" and seen["wsgi.input"].read() == b""


def test_the_parsed_query_leaves_the_environ_once_answered(small_limits_app):
    """WebOb's parsed query refers back to the environ; left there, the environ and what a
    request put in it could only be freed by the garbage collector's cycle search."""
    seen = {}

    def app(environ, start_response):
        seen["q"] = Request(environ).GET["q"]
        seen["parsed"] = PARSED_QUERY in environ
        seen["environ"] = environ
        start_response("200 OK", [])
        return [b""]

    guard = InputGuard(app, small_limits_app.app.registry["app_settings"])
    gc.collect()
    gc.disable()
    try:
        TestApp(guard).get("/?q=1")
        environ = seen.pop("environ")
        assert PARSED_QUERY not in environ
        del environ
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert seen == {"q": "1", "parsed": True}


def test_forms_without_files_are_not_multipart_and_forms_with_files_are(testapp, dbsession,
                                                                          clock, app_settings):
    assert testapp.get("/signin").forms["deform"].enctype == (
        "application/x-www-form-urlencoded")
    site = make_site(dbsession)
    sign_in(testapp, dbsession, make_staff(dbsession, site, "coordinator"), clock,
            app_settings)
    upload = testapp.get(f"/s/{site.code}/imports/").forms["deform"]
    assert upload.enctype == "multipart/form-data"


def test_a_huge_came_from_on_signin_is_neither_accepted_nor_echoed(testapp):
    """Within the body limit, a multipart sign-in with a 1 MB came_from: the value is
    dropped (not a local path of at most PATH_MAX), never shown back."""
    huge = "/" + "a" * 1_000_000
    form = testapp.get("/signin").forms["deform"]
    fields = [(name, value) for name, value in form.submit_fields()
              if name != "came_from"] + [("came_from", huge), ("email", "x@example.jp"),
                                          ("password", "wrong password!")]
    page = testapp.post("/signin", fields, content_type="multipart/form-data")
    assert "a" * 1000 not in page.text
    assert len(page.body) < 100_000


def test_a_field_over_its_length_is_refused_and_shown_back_cut(testapp):
    form = testapp.get("/signup").forms["deform"]
    form["email"] = "new@example.jp"
    form["display_name"] = "長" * 5_000
    form["password"] = form["password_again"] = PASSWORD
    page = form.submit("signup", status=200)
    assert "100 文字以内" in page.text
    assert page.forms["deform"]["display_name"].value == "長" * 100
    assert page.text.count("長") < 300


def test_every_schema_string_is_a_capped_text():
    """No form field is a bare colander.String: each has a cap (schemas/fields.py)."""
    root = pathlib.Path(furusato_cms.__file__).parent
    bare = [str(path.relative_to(root)) for path in root.rglob("*.py")
            if "colander.String(" in path.read_text(encoding="utf-8")
            and path.name != "fields.py"]
    assert bare == []


def test_text_caps_and_lines():
    node = colander.SchemaNode(Text(10))
    assert node.deserialize("a" * 10) == "a" * 10
    with pytest.raises(colander.Invalid):
        node.deserialize("a" * 11)
    with pytest.raises(colander.Invalid):
        node.deserialize("a\nb")
    area = colander.SchemaNode(Text(3, multiline=True))
    assert area.deserialize("a\r\nb") == "a\r\nb"
    assert colander.SchemaNode(Text()).typ.max_length == LINE_MAX


@pytest.mark.parametrize("value,expected", [
    ("/my/", "/my/"),
    ("/s/202011/?page=2", "/s/202011/?page=2"),
    ("//evil.example/", ""),
    ("https://evil.example/", ""),
    ("/\\evil.example", ""),
    ("/my/\r\nSet-Cookie: x=1", ""),
    ("/my/\x00", ""),
    ("/" + "a" * PATH_MAX, ""),
    (None, ""),
])
def test_came_from_is_a_local_path_or_nothing(value, expected):
    assert local_path(value) == expected


# -- item 3: NUL, control characters and broken UTF-8 ------------------------------------

@pytest.mark.parametrize("query", ["q=%00", "q=abc%00def", "q=%ff%fe", "pref=%0d%0a",
                                   "page=%01"])
def test_bad_bytes_in_the_directory_search_are_a_400_page(testapp, dbsession, query):
    make_site(dbsession)
    page = testapp.get(f"/?{query}", status=400)
    assert BAD_BYTES in main_text(page)


def test_nul_in_the_interests_search_is_a_400_page(testapp, dbsession, clock, app_settings):
    make_site(dbsession)
    sign_in(testapp, dbsession, make_registrant(dbsession), clock, app_settings)
    assert BAD_BYTES in testapp.get("/my/interests?q=%E9%95%B7%00", status=400).text
    assert testapp.get("/my/interests?q=%E9%95%B7%09").status_int == 200


def test_nul_in_the_attendance_search_is_a_400_page(testapp, dbsession, clock, app_settings):
    world = make_checkin_world(dbsession, NOW)
    sign_in(testapp, dbsession, make_staff(dbsession, world.site, "coordinator"), clock,
            app_settings)
    base = f"/s/{world.site.code}/projects/{world.project.id}/sessions/{world.session.id}/"
    assert BAD_BYTES in testapp.get(base + "attendance?q=%00", status=400).text
    assert testapp.get(base + "attendance?q=%E4%BD%8F%E6%B0%91").status_int == 200


def test_nul_in_a_display_name_is_refused(testapp, dbsession):
    form = testapp.get("/signup").forms["deform"]
    form["email"] = "nul@example.jp"
    form["display_name"] = "新井\x00一郎"
    form["password"] = form["password_again"] = PASSWORD
    page = form.submit("signup", status=400)
    assert BAD_BYTES in main_text(page)


def test_a_line_break_in_a_one_line_field_is_a_form_error(testapp, dbsession):
    form = testapp.get("/signup").forms["deform"]
    form["email"] = "crlf@example.jp"
    form["display_name"] = "新井\r\n一郎"
    form["password"] = form["password_again"] = PASSWORD
    page = form.submit("signup", status=200)
    assert "改行を入れずに1行で書いてください" in page.text


def test_line_breaks_and_tabs_in_a_text_area_are_kept(testapp, dbsession, clock,
                                                      app_settings):
    site = make_site(dbsession)
    sign_in(testapp, dbsession, make_staff(dbsession, site, "editor"), clock, app_settings)
    form = testapp.get(f"/s/{site.code}/intro/edit").forms["deform"]
    form["body"] = "一行目\r\n\t二行目"
    assert form.submit("save").status_int in (200, 303)


@pytest.mark.parametrize("path", ["/signin?came_from=/my/%0d%0aSet-Cookie:%20x=1",
                                  "/language?lang=en&came_from=/%0d%0aLocation:%20//evil",
                                  "/signin?came_from=/my/%00"])
def test_control_characters_in_came_from_are_a_400_page(testapp, path):
    page = testapp.get(path, status=400)
    assert BAD_BYTES in main_text(page) or "control characters" in main_text(page)


def test_a_posted_came_from_with_a_line_break_is_dropped_and_signin_works(testapp, dbsession):
    make_registrant(dbsession, "crlf@example.jp")
    form = testapp.get("/signin").forms["deform"]
    form["email"] = "crlf@example.jp"
    form["password"] = PASSWORD
    form["came_from"].force_value("/my/\r\nSet-Cookie: x=1")
    response = form.submit("signin", status=303)
    assert response.location.endswith("/my/")
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_the_limits_are_settings_with_sane_defaults():
    default = AppSettings.from_settings({"furusato.session_secret": "s"})
    assert default.form_body_max_bytes == 1024 * 1024
    assert default.upload_body_limit == 6 * default.upload_max_bytes + 1024 * 1024
    assert (default.workbook_unpacked_max_bytes, default.workbook_ratio_max,
            default.workbook_text_max_bytes) == (256 * 1024 * 1024, 100, 256 * 1024)
    chosen = AppSettings.from_settings({
        "furusato.session_secret": "s", "furusato.form_body_max_bytes": "2048",
        "furusato.upload_body_max_bytes": "4096", "furusato.workbook_ratio_max": "50"})
    assert (chosen.form_body_max_bytes, chosen.upload_body_limit,
            chosen.workbook_ratio_max) == (2048, 4096, 50)


@pytest.mark.parametrize("path", ["/s/%00/", "/s/20201%00/posts/", "/invitation/abc%00",
                                  "/s/%ff/"])
def test_bad_bytes_in_the_path_are_a_400_page(testapp, dbsession, path):
    make_site(dbsession)
    assert BAD_BYTES in main_text(testapp.get(path, status=400))
