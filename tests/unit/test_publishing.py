"""The publishing workflow, versions and slug/tag rules, without HTTP."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import AuditEntry, ContentTransition, ContentVersion, Post
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.publishing import PublicContent, PublishingService

from ..content_factories import actor_for
from ..factories import NAGANO_CITY, make_post, make_site, make_staff


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def editor(dbsession, site):
    return actor_for(make_staff(dbsession, site, "editor"))


@pytest.fixture
def reviewer(dbsession, site):
    return actor_for(make_staff(dbsession, site, "editor", is_reviewer=True,
                                email="reviewer@example.jp"))


@pytest.fixture
def service(dbsession, clock, app_settings):
    return PublishingService(dbsession, clock=clock, settings=app_settings)


def visible_slugs(dbsession, clock, app_settings, site):
    page = PublicContent(dbsession, clock=clock, settings=app_settings).posts(site)
    return [p.slug for p in page.items]


def new_post(service, actor, site, slug="apple", **kw):
    values = dict(title="りんご収穫", slug=slug, summary="", body="本文", kind="event",
                  tags=["agriculture"], publish_at=None, expire_at=None)
    values.update(kw)
    return service.create_post(actor, site, **values)


def test_create_makes_a_draft_with_version_one_and_an_audit_entry(service, editor, site, dbsession):
    post = new_post(service, editor, site)
    assert post.state == "draft" and post.version == 1 and post.tags == ["agriculture"]
    versions = dbsession.scalars(select(ContentVersion).where(ContentVersion.content_id == post.id)).all()
    assert [(v.number, v.title, v.tags) for v in versions] == [(1, "りんご収穫", ["agriculture"])]
    actions = dbsession.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(post.id)))
    assert list(actions) == ["content.create"]


def test_full_workflow_records_who_when_and_why(service, editor, reviewer, site, dbsession,
                                                 clock, app_settings):
    post = new_post(service, editor, site)
    service.transition(editor, post, "review", "確認お願いします", may_publish=False)
    with pytest.raises(NotAllowed) as refused:
        service.transition(editor, post, "published", may_publish=False)
    assert "reviewer" in refused.value.message
    assert post.state == "review"

    with pytest.raises(InvalidInput) as no_comment:
        service.transition(reviewer, post, "draft", "  ", may_publish=True)
    assert no_comment.value.field == "comment"
    service.transition(reviewer, post, "draft", "日付を直してください", may_publish=True)
    service.transition(editor, post, "review", "", may_publish=False)
    clock.advance(timedelta(minutes=5))
    service.transition(reviewer, post, "published", "", may_publish=True)
    assert post.published_at == clock()
    assert visible_slugs(dbsession, clock, app_settings, site) == ["apple"]

    service.transition(editor, post, "archived", "終了", may_publish=False)
    assert visible_slugs(dbsession, clock, app_settings, site) == []
    service.transition(editor, post, "draft", "", may_publish=False)

    steps = [(t.from_state, t.to_state, t.actor_id, t.comment) for t in reversed(service.history(post))]
    assert steps == [
        ("draft", "review", editor.account_id, "確認お願いします"),
        ("review", "draft", reviewer.account_id, "日付を直してください"),
        ("draft", "review", editor.account_id, ""),
        ("review", "published", reviewer.account_id, ""),
        ("published", "archived", editor.account_id, "終了"),
        ("archived", "draft", editor.account_id, ""),
    ]
    actions = dbsession.scalars(
        select(AuditEntry.action).where(AuditEntry.target_id == str(post.id)).order_by(AuditEntry.id)
    ).all()
    assert actions == ["content.create", "content.submit", "content.send_back", "content.submit",
                       "content.approve", "content.archive", "content.reopen"]


def test_direct_publish_needs_the_publish_right(service, editor, reviewer, site):
    post = new_post(service, editor, site)
    with pytest.raises(NotAllowed):
        service.transition(editor, post, "published", may_publish=False)
    service.transition(reviewer, post, "published", may_publish=True)
    assert post.state == "published"


@pytest.mark.parametrize("start, target", [
    ("draft", "archived"), ("review", "archived"), ("published", "draft"), ("archived", "published"),
    ("draft", "nonsense"),
])
def test_steps_outside_the_workflow_are_refused(service, reviewer, site, dbsession, start, target):
    post = make_post(dbsession, site, state=start)
    with pytest.raises(NotAllowed):
        service.transition(reviewer, post, target, "x", may_publish=True)
    assert post.state == start


def test_editors_see_only_the_steps_they_may_take(service, editor, site):
    post = new_post(service, editor, site)
    assert [to for to, _ in service.available_transitions(post, may_publish=False)] == ["review"]
    assert {to for to, _ in service.available_transitions(post, may_publish=True)} == {
        "review", "published"}


def test_scheduled_publish_and_expiry_follow_the_clock(service, editor, reviewer, site,
                                                       dbsession, clock, app_settings):
    start, end = clock() + timedelta(days=1), clock() + timedelta(days=3)
    post = new_post(service, editor, site, publish_at=start, expire_at=end)
    service.transition(reviewer, post, "published", may_publish=True)
    assert visible_slugs(dbsession, clock, app_settings, site) == []
    assert not post.is_visible_at(clock())
    clock.advance(timedelta(days=1))
    assert visible_slugs(dbsession, clock, app_settings, site) == ["apple"]
    clock.advance(timedelta(days=2))
    assert visible_slugs(dbsession, clock, app_settings, site) == []
    assert post.state == "published"


def test_publishing_after_the_end_date_is_refused(service, editor, reviewer, site, clock):
    post = new_post(service, editor, site, expire_at=clock() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    with pytest.raises(InvalidInput) as refused:
        service.transition(reviewer, post, "published", may_publish=True)
    assert refused.value.field == "expire_at"


def test_end_must_follow_start(service, editor, site, clock):
    with pytest.raises(InvalidInput) as refused:
        new_post(service, editor, site, publish_at=clock(), expire_at=clock())
    assert refused.value.field == "expire_at"


def test_edits_make_versions_and_restore_adds_one(service, editor, site, dbsession):
    post = new_post(service, editor, site)
    service.update(editor, post, title="二版", body="二番目", tags=["food", "agriculture"])
    service.update(editor, post, title="三版", kind="news", tags=[])
    assert post.version == 3 and post.tags == []
    service.restore(editor, post, 2)
    assert post.version == 4
    assert (post.title, post.body, post.kind, sorted(post.tags)) == (
        "二版", "二番目", "event", ["agriculture", "food"])
    numbers = [(v.number, v.title) for v in service.versions(post)]
    assert numbers == [(4, "二版"), (3, "三版"), (2, "二版"), (1, "りんご収穫")]
    with pytest.raises(InvalidInput):
        service.restore(editor, post, 99)


def test_stale_edits_are_refused(service, editor, site):
    post = new_post(service, editor, site)
    service.update(editor, post, expected_version=1, title="先に保存")
    with pytest.raises(Conflict):
        service.update(editor, post, expected_version=1, title="古い画面から")
    assert post.title == "先に保存"


def test_editing_a_published_post_keeps_it_published_and_says_who(service, editor, reviewer,
                                                                  site, dbsession):
    post = new_post(service, editor, site)
    service.transition(reviewer, post, "published", may_publish=True)
    service.update(editor, post, body="訂正しました")
    assert post.state == "published" and post.body == "訂正しました"
    latest = service.history(post)[0]
    assert (latest.from_state, latest.to_state, latest.actor_id) == (
        "published", "published", editor.account_id)


def test_first_edit_of_seeded_content_keeps_the_original_as_a_version(service, editor, site,
                                                                       dbsession):
    post = make_post(dbsession, site, "seeded", title="元の題", body="元の本文")
    service.update(editor, post, title="新しい題")
    assert [(v.number, v.title) for v in service.versions(post)] == [(2, "新しい題"), (1, "元の題")]


@pytest.mark.parametrize("slug", ["Bad Slug", "日本語", "a--b", "-a", "a_b", "x" * 101])
def test_bad_slugs_are_refused(service, editor, site, slug):
    with pytest.raises(InvalidInput) as refused:
        new_post(service, editor, site, slug=slug)
    assert refused.value.field == "slug"


@pytest.mark.parametrize("slug", ["new", "manage", "intro", "edit"])
def test_reserved_slugs_are_refused(service, editor, site, slug):
    with pytest.raises(InvalidInput, match="reserved"):
        new_post(service, editor, site, slug=slug)


def test_slugs_are_unique_per_site_and_normalised(service, editor, site, dbsession):
    new_post(service, editor, site, slug="Ａpple-2026")
    assert dbsession.scalar(select(Post.slug).where(Post.site_id == site.id)) == "apple-2026"
    with pytest.raises(Conflict):
        new_post(service, editor, site, slug="apple-2026")
    other = make_site(dbsession, "202029")
    assert new_post(service, editor, other, slug="apple-2026").slug == "apple-2026"


def test_empty_slug_is_generated_from_the_tokyo_date(service, editor, site, clock):
    first = new_post(service, editor, site, slug="")
    second = new_post(service, editor, site, slug=None)
    tokyo_day = "20261125"  # the test clock is 2026-11-25 03:00 UTC = 12:00 in Tokyo
    assert (first.slug, second.slug) == (f"{tokyo_day}-1", f"{tokyo_day}-2")


def test_unknown_tags_and_kinds_are_refused_with_a_message(service, editor, site):
    with pytest.raises(InvalidInput) as bad_tag:
        new_post(service, editor, site, tags=["agriculture", "casino"])
    assert bad_tag.value.field == "tags" and "casino" in bad_tag.value.message.interpolate()
    with pytest.raises(InvalidInput) as bad_kind:
        new_post(service, editor, site, kind="advert")
    assert bad_kind.value.field == "kind"
    post = new_post(service, editor, site)
    with pytest.raises(InvalidInput):
        service.update(editor, post, tags=["casino"])
    assert post.tags == ["agriculture"]


def test_title_is_required(service, editor, site):
    with pytest.raises(InvalidInput) as refused:
        new_post(service, editor, site, title="   ")
    assert refused.value.field == "title"


def test_intro_edits_are_live_versioned_and_restorable(service, editor, site, dbsession,
                                                       clock, app_settings):
    intro = service.update_intro(editor, site, "長野市へようこそ", "## 新しい紹介")
    assert intro.state == "published"
    assert PublicContent(dbsession, clock=clock, settings=app_settings).intro(site).body == "## 新しい紹介"
    assert [v.number for v in service.versions(intro)] == [2, 1]
    service.restore(editor, intro, 1)
    assert intro.body == "ようこそ" and intro.version == 3
    with pytest.raises(NotAllowed):
        service.transition(editor, intro, "archived", may_publish=True)
    with pytest.raises(Conflict):
        service.update_intro(editor, site, "x", "y", expected_version=1)
    transitions = dbsession.scalars(
        select(ContentTransition).where(ContentTransition.content_id == intro.id)).all()
    assert transitions == []


def test_an_intro_page_appears_if_missing(service, editor, dbsession):
    bare = make_site(dbsession, "202029", with_intro=False)
    page = service.update_intro(editor, bare, "松本市", "紹介")
    assert page.state == "published" and service.intro(bare).id == page.id


def test_the_body_html_is_kept_on_every_save_and_follows_restores(service, editor, site,
                                                                  dbsession):
    """Public pages show ``body_html`` without rendering: every way a body changes (a new
    post, an edit, a restore, the intro page) keeps it equal to the rendered body."""
    post = new_post(service, editor, site, body="# 一版")
    assert post.body_html == "<h1>一版</h1>\n"
    service.update(editor, post, body="**二版**")
    assert post.body_html == "<p><strong>二版</strong></p>\n"
    service.restore(editor, post, 1)
    assert post.body_html == "<h1>一版</h1>\n"
    intro = service.update_intro(editor, site, "紹介", "<script>x</script>")
    assert intro.body_html == "<p>&lt;script&gt;x&lt;/script&gt;</p>\n"
    dbsession.expire_all()
    assert dbsession.get(Post, post.id).body_html == "<h1>一版</h1>\n"


def test_a_body_without_kept_html_is_rendered_when_shown(site, dbsession, clock,
                                                         app_settings):
    """A row written by a bulk script (body_html NULL) is rendered on read."""
    post = make_post(dbsession, site, "bulk", body="*斜体*")
    post.body_html = None
    dbsession.flush()
    public = PublicContent(dbsession, clock=clock, settings=app_settings)
    assert public.post_extras(post) == ([], "<p><em>斜体</em></p>\n")
    assert public.front(site).body_html == "<p>ようこそ</p>\n"


def test_public_posts_carry_their_tags_in_order(service, editor, reviewer, site, dbsession,
                                                clock, app_settings):
    post = new_post(service, editor, site, tags=["food", "agriculture", "tourism"])
    new_post(service, editor, site, slug="plain", tags=[])
    for each in dbsession.scalars(select(Post).where(Post.site_id == site.id)):
        service.transition(reviewer, each, "published", may_publish=True)
    public = PublicContent(dbsession, clock=clock, settings=app_settings)
    cards = {card.slug: card.tags for card in public.posts(site).items}
    assert cards == {"apple": ["agriculture", "food", "tourism"], "plain": []}
    assert [c.slug for c in public.posts(site, tag="food").items] == ["apple"]
    assert public.post_extras(post)[0] == ["agriculture", "food", "tourism"]
