"""The editing screens: intro page, posts and their workflow, versions, images."""
import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image as PILImage
from sqlalchemy import select
from webtest import Upload

from furusato_cms.models import ContentTransition, Image, Post
from furusato_cms.services.publishing import PublishingService

from ..content_factories import (
    actor_for,
    camera_exif,
    csrf_token,
    image_bytes,
    signed_in_staff,
)
from ..factories import NAGANO_CITY, make_post, make_site, make_staff, sign_in

BASE = f"/s/{NAGANO_CITY}"


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def as_editor(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor")


@pytest.fixture
def as_reviewer(testapp, dbsession, site, clock, app_settings):
    return signed_in_staff(testapp, dbsession, site, clock, app_settings, "editor",
                           is_reviewer=True, email="reviewer@example.jp")


def the_form(page, action_end=None):
    """The page's deform form, or the hand-written one posting to ``action_end``."""
    if action_end is None:
        return page.forms["deform"]
    return next(f for f in page.forms.values() if (f.action or "").endswith(action_end))


def write_post(testapp, **fields):
    form = the_form(testapp.get(f"{BASE}/posts/new"))
    values = {"title": "りんご収穫のお手伝い", "slug": "apple", "body": "## 募集\n\n- 10月", **fields}
    for name, value in values.items():
        form[name] = value
    return form


def workflow_buttons(page):
    return {b["value"] for b in page.html.select('button[name="to_state"]')}


def step(testapp, to_state, comment="", status=303):
    page = testapp.get(f"{BASE}/posts/apple/edit")
    form = the_form(page, "/transition")
    form["comment"] = comment
    return form.submit("to_state", value=to_state, status=status)


def post_in_db(dbsession, slug="apple"):
    dbsession.expire_all()
    return dbsession.scalar(select(Post).where(Post.slug == slug))


def test_editor_writes_a_draft_that_visitors_cannot_see(testapp, dbsession, site, as_editor):
    form = write_post(testapp)
    form["checkbox"] = ["agriculture", "food"]
    form["kind"] = "event"
    page = form.submit(status=303).follow()
    assert "下書き" in page.text
    post = post_in_db(dbsession)
    assert (post.state, post.kind, sorted(post.tags), post.created_by_id) == (
        "draft", "event", ["agriculture", "food"], as_editor.id)
    preview = testapp.get(f"{BASE}/posts/apple/preview")
    assert "<h2>募集</h2>" in preview.text
    testapp.reset()
    testapp.get(f"{BASE}/posts/apple", status=404)
    assert "りんご収穫のお手伝い" not in testapp.get(f"{BASE}/").text


def test_dates_are_typed_in_tokyo_time_and_shown_back_in_it(testapp, dbsession, site, as_editor):
    form = write_post(testapp, publish_at="2026-12-01 09:00", expire_at="2026-12-31T18:30")
    form.submit(status=303)
    post = post_in_db(dbsession)
    assert post.publish_at == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    assert post.expire_at == datetime(2026, 12, 31, 9, 30, tzinfo=timezone.utc)
    page = testapp.get(f"{BASE}/posts/apple/edit")
    assert the_form(page).get("publish_at").value == "2026-12-01T09:00"
    assert "2026年12月1日(火) 9:00" in testapp.get(f"{BASE}/posts/manage").text


def test_bad_input_re_renders_with_messages_and_keeps_what_was_typed(testapp, site, as_editor):
    form = write_post(testapp, title="", slug="Bad Slug!", body="下書きの本文",
                      publish_at="来週")
    page = form.submit(status=400)
    assert "必須" in page.text or "入力" in page.text
    assert "下書きの本文" in page.text and "Bad Slug!" in page.text
    assert "YYYY-MM-DD HH:MM" in page.text


def test_service_refusals_show_on_the_field(testapp, dbsession, site, as_editor):
    make_post(dbsession, site, "apple")
    page = write_post(testapp, body="残る本文").submit(status=409)
    assert "apple" in page.text and "残る本文" in page.text
    page = write_post(testapp, slug="manage").submit(status=400)
    assert "予約" in page.text


def test_forged_tags_and_kinds_are_refused_with_messages(testapp, dbsession, site, as_editor):
    token = csrf_token(testapp, f"{BASE}/posts/new")
    fields = [("csrf_token", token), ("title", "t"), ("slug", "forged"), ("kind", "news"),
              ("__start__", "tags:sequence"), ("checkbox", "casino"), ("__end__", "tags:sequence"),
              ("summary", ""), ("body", ""), ("publish_at", ""), ("expire_at", ""), ("save", "save")]
    page = testapp.post(f"{BASE}/posts/new", fields, status=400)
    assert "casino" in page.text
    fields = [(k, "advert" if k == "kind" else v) for k, v in fields if v != "casino"]
    page = testapp.post(f"{BASE}/posts/new", fields, status=400)
    assert "種類" in page.text
    assert post_in_db(dbsession, "forged") is None


def act_as(testapp, dbsession, account, clock, app_settings):
    """Switch the test client to another person."""
    testapp.reset()
    sign_in(testapp, dbsession, account, clock, app_settings)


def test_full_workflow_through_the_screens(testapp, dbsession, site, clock, app_settings):
    editor = make_staff(dbsession, site, "editor")
    reviewer = make_staff(dbsession, site, "editor", is_reviewer=True,
                          email="reviewer@example.jp", name="承認 太郎")
    act_as(testapp, dbsession, editor, clock, app_settings)
    write_post(testapp).submit(status=303)
    page = testapp.get(f"{BASE}/posts/apple/edit")
    assert workflow_buttons(page) == {"review"}
    assert not page.html.find("a", href=f"http://localhost{BASE}/posts/apple/target")
    step(testapp, "review", "確認をお願いします")
    assert workflow_buttons(testapp.get(f"{BASE}/posts/apple/edit")) == set()

    # A forged publish request by the same editor is refused by the rule, not just hidden.
    token = csrf_token(testapp, f"{BASE}/posts/apple/edit")
    refused = testapp.post(f"{BASE}/posts/apple/transition",
                           {"csrf_token": token, "to_state": "published", "comment": ""},
                           status=403)
    assert "承認" in refused.text
    assert post_in_db(dbsession).state == "review"

    act_as(testapp, dbsession, reviewer, clock, app_settings)
    page = testapp.get(f"{BASE}/posts/apple/edit")
    assert workflow_buttons(page) == {"published", "draft"}
    link = page.html.find("a", href=f"http://localhost{BASE}/posts/apple/target")
    assert link.text == "配信対象と送信"
    refused = step(testapp, "draft", "", status=400)
    assert "コメント" in refused.text and post_in_db(dbsession).state == "review"
    step(testapp, "draft", "写真を追加してください")

    act_as(testapp, dbsession, editor, clock, app_settings)
    step(testapp, "review")
    act_as(testapp, dbsession, reviewer, clock, app_settings)
    step(testapp, "published")
    testapp.reset()
    assert "りんご収穫のお手伝い" in testapp.get(f"{BASE}/").text
    testapp.get(f"{BASE}/posts/apple")

    act_as(testapp, dbsession, editor, clock, app_settings)
    step(testapp, "archived", "募集終了")
    testapp.reset()
    testapp.get(f"{BASE}/posts/apple", status=404)

    act_as(testapp, dbsession, editor, clock, app_settings)
    page = testapp.get(f"{BASE}/posts/apple/edit")
    history = page.html.select_one("#history-heading").find_parent("section").text
    for expected in ("写真を追加してください", "募集終了", "確認をお願いします", "承認 太郎"):
        assert expected in history
    post = post_in_db(dbsession)
    steps = dbsession.scalars(select(ContentTransition.to_state).where(
        ContentTransition.content_id == post.id).order_by(ContentTransition.id)).all()
    assert steps == ["review", "draft", "review", "published", "archived"]


def test_site_admin_publishes_directly(testapp, dbsession, site, clock, app_settings):
    signed_in_staff(testapp, dbsession, site, clock, app_settings, "site_admin")
    write_post(testapp).submit(status=303)
    step(testapp, "published")
    assert post_in_db(dbsession).state == "published"


def test_scheduled_post_appears_and_disappears_with_the_clock(testapp, dbsession, site, clock,
                                                              as_reviewer):
    form = write_post(testapp, publish_at="2026-11-26 09:00", expire_at="2026-11-27 09:00")
    form.submit(status=303)
    step(testapp, "published")
    manage = testapp.get(f"{BASE}/posts/manage").text
    assert "公開予定" in manage
    assert "表示されていません" in testapp.get(f"{BASE}/posts/apple/preview").text
    visitor = testapp.__class__(testapp.app, extra_environ=testapp.extra_environ)
    visitor.get(f"{BASE}/posts/apple", status=404)
    clock.advance(timedelta(days=1))
    assert "りんご収穫のお手伝い" in visitor.get(f"{BASE}/").text
    clock.advance(timedelta(days=1))
    visitor.get(f"{BASE}/posts/apple", status=404)


def test_editing_a_published_post_keeps_it_public(testapp, dbsession, site, as_reviewer):
    write_post(testapp).submit(status=303)
    step(testapp, "published")
    form = the_form(testapp.get(f"{BASE}/posts/apple/edit"))
    form["body"] = "訂正後の本文"
    form.submit(status=303)
    post = post_in_db(dbsession)
    assert (post.state, post.body, post.version) == ("published", "訂正後の本文", 2)
    page = testapp.get(f"{BASE}/posts/apple/edit")
    assert "公開中に編集" in page.text


def test_stale_edit_is_refused_and_the_text_is_kept(testapp, dbsession, site, as_editor):
    write_post(testapp).submit(status=303)
    first = the_form(testapp.get(f"{BASE}/posts/apple/edit"))
    second = the_form(testapp.get(f"{BASE}/posts/apple/edit"))
    first["body"] = "先に保存"
    first.submit(status=303)
    second["body"] = "後から保存"
    page = second.submit(status=409)
    assert "後から保存" in page.text
    assert post_in_db(dbsession).body == "先に保存"


def test_versions_can_be_viewed_and_restored(testapp, dbsession, site, as_editor):
    write_post(testapp, body="一版").submit(status=303)
    form = the_form(testapp.get(f"{BASE}/posts/apple/edit"))
    form["body"] = "二版"
    form.submit(status=303)
    listing = testapp.get(f"{BASE}/posts/apple/versions")
    assert "版 2" in listing.text or "バージョン 2" in listing.text
    assert testapp.get(f"{BASE}/posts/apple/versions", {"n": "1"}, status=303).location.endswith(
        "/posts/apple/versions/1")
    old = testapp.get(f"{BASE}/posts/apple/versions/1")
    assert "一版" in old.text
    the_form(old).submit(status=303)
    post = post_in_db(dbsession)
    assert (post.body, post.version) == ("一版", 3)
    testapp.get(f"{BASE}/posts/apple/versions/9", status=404)
    testapp.get(f"{BASE}/posts/apple/versions", {"n": "x"}, status=400)


def test_intro_page_edit_is_live_and_versioned(testapp, dbsession, site, as_editor):
    page = testapp.get(f"{BASE}/intro/edit")
    assert "Markdown" in page.text and "ようこそ" in page.text
    form = the_form(page)
    form["title"] = "長野市の紹介"
    form["body"] = "## りんごのまち\n\n善光寺があります。"
    form.submit(status=303)
    public = testapp.get(f"{BASE}/").text
    assert "りんごのまち" in public
    versions = testapp.get(f"{BASE}/intro/versions")
    assert "長野市の紹介" in versions.text
    the_form(testapp.get(f"{BASE}/intro/versions/1")).submit(status=303)
    assert "ようこそ" in testapp.get(f"{BASE}/").text


def test_intro_form_requires_a_title(testapp, site, as_editor):
    form = the_form(testapp.get(f"{BASE}/intro/edit"))
    form["title"] = ""
    form["body"] = "途中の文章"
    page = form.submit(status=400)
    assert "途中の文章" in page.text


def test_manage_lists_every_state_and_filters(testapp, dbsession, site, as_editor):
    make_post(dbsession, site, "pub", title="公開記事")
    make_post(dbsession, site, "drf", title="下書き記事", state="draft")
    page = testapp.get(f"{BASE}/posts/manage")
    assert "公開記事" in page.text and "下書き記事" in page.text
    page = testapp.get(f"{BASE}/posts/manage", {"state": "draft"})
    assert "公開記事" not in page.text and "下書き記事" in page.text
    testapp.get(f"{BASE}/posts/manage", {"state": "bogus"}, status=400)


def upload(testapp, filename, data, alt="りんご畑", status=303):
    form = the_form(testapp.get(f"{BASE}/images/upload"))
    form["upload"] = Upload(filename, data, "image/png")
    form["alt_text"] = alt
    return form.submit(status=status)


def test_image_upload_gives_a_snippet_and_a_clean_narrow_image(testapp, dbsession, site,
                                                               as_editor, app_settings):
    wide = image_bytes("JPEG", (app_settings.image_max_width + 400, 100), exif=camera_exif(1))
    page = upload(testapp, "IMG_0001.jpg", wide).follow()
    image = dbsession.scalar(select(Image))
    snippet = f"![りんご畑](/s/{NAGANO_CITY}/images/{image.public_key})"
    assert snippet in page.text
    served = testapp.get(f"/s/{NAGANO_CITY}/images/{image.public_key}")
    stored = PILImage.open(io.BytesIO(served.body))
    assert stored.width == app_settings.image_max_width
    assert dict(stored.getexif()) == {}


def test_image_upload_refusals(testapp, dbsession, site, as_editor, app_settings):
    page = upload(testapp, "notes.png", b"just some text, not a picture", status=400)
    assert "画像" in page.text and "りんご畑" in page.text
    big = b"\x89PNG" + b"0" * app_settings.upload_max_bytes
    page = upload(testapp, "big.png", big, status=400)
    assert "MB" in page.text
    page = upload(testapp, "ok.png", image_bytes(), alt="", status=400)
    assert dbsession.scalar(select(Image)) is None


EDITING_PAGES = [
    ("get", "/intro/edit"), ("post", "/intro/edit"), ("get", "/intro/versions"),
    ("get", "/intro/versions/1"), ("post", "/intro/versions/1"),
    ("get", "/posts/manage"), ("get", "/posts/new"), ("post", "/posts/new"),
    ("get", "/posts/apple/edit"), ("post", "/posts/apple/edit"), ("get", "/posts/apple/preview"),
    ("post", "/posts/apple/transition"), ("get", "/posts/apple/versions"),
    ("get", "/posts/apple/versions/1"), ("post", "/posts/apple/versions/1"),
    ("get", "/images/upload"), ("post", "/images/upload"),
]


@pytest.fixture
def seeded(dbsession, site, clock, app_settings):
    """A post and an intro page that both have a version 1."""
    service = PublishingService(dbsession, clock=clock, settings=app_settings)
    author = actor_for(make_staff(dbsession, site, "editor", email="author@example.jp"))
    service.create_post(author, site, "りんご", "apple", "", "", "news", [], None, None)
    service.update_intro(author, site, "長野市", "紹介")
    return site


@pytest.mark.parametrize("method, path", EDITING_PAGES)
def test_coordinators_may_not_edit(testapp, dbsession, seeded, clock, app_settings, method, path):
    signed_in_staff(testapp, dbsession, seeded, clock, app_settings, "coordinator")
    token = csrf_token(testapp, f"{BASE}/")
    if method == "get":
        page = testapp.get(BASE + path, status=403)
    else:
        page = testapp.post(BASE + path, {"csrf_token": token, "to_state": "published"},
                            status=403)
    assert "<h1>" in page.text
    assert post_in_db(dbsession).state == "draft"


@pytest.mark.parametrize("method, path", EDITING_PAGES)
def test_visitors_are_sent_to_sign_in_or_refused(testapp, seeded, method, path):
    if method == "get":
        assert "/signin" in testapp.get(BASE + path, status=302).location
    else:
        token = csrf_token(testapp, "/signin")
        page = testapp.post(BASE + path, {"csrf_token": token}, status=403)
        assert "<h1>" in page.text


def test_editors_of_another_site_may_not_edit(testapp, dbsession, seeded, clock, app_settings):
    other = make_site(dbsession, "202029")
    signed_in_staff(testapp, dbsession, other, clock, app_settings, "editor")
    testapp.get(f"{BASE}/posts/apple/edit", status=403)
    testapp.get(f"{BASE}/posts/apple/preview", status=403)


def test_visitors_never_see_drafts_or_reviews(testapp, dbsession, site):
    make_post(dbsession, site, "draft-one", title="下書きA", state="draft")
    make_post(dbsession, site, "review-one", title="確認中B", state="review")
    make_post(dbsession, site, "old-one", title="終了C", state="archived")
    text = testapp.get(f"{BASE}/").text + testapp.get(f"{BASE}/posts/").text
    for title in ("下書きA", "確認中B", "終了C"):
        assert title not in text
    for slug in ("draft-one", "review-one", "old-one"):
        testapp.get(f"{BASE}/posts/{slug}", status=404)
