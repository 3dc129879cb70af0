"""The publishing workflow (公開ワークフロー) and what the public may see.

Visibility is decided at query time from state and the publish/expire dates, so
scheduled publishing (予約公開) and expiry need no background job: a post that is
``published`` with a future ``publish_at`` simply starts matching ``visible_now``
when that moment comes.

Every saved edit is a numbered ``ContentVersion``; history is never rewritten
(restoring an old version saves a new one equal to it). Every workflow step is a
``ContentTransition`` (who, when, comment) and an audit entry.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import and_, bindparam, func, literal_column, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..clock import to_tokyo
from ..i18n import _
from ..interests import INTERESTS
from ..markup import render_markdown
from ..models import (
    GENERIC_PLAN,
    ContentItem,
    ContentTag,
    ContentTransition,
    ContentVersion,
    Image,
    IntroPage,
    Post,
    Site,
)
from ..models.content import CONTENT_STATES, POST_KINDS, RESERVED_SLUGS
from ..models.meta import UTCDateTime
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .paging import (
    Page,
    Read,
    Slice,
    SortKey,
    fetch_page,
    fetch_slice,
    read_one,
    read_rows,
    rows_page_read,
)

POSTS_PAGE_SIZE = 10
MANAGE_PAGE_SIZE = 50
SLUG_MAX = 100
TITLE_MAX = 200
SUMMARY_MAX = 500
BODY_MAX = 100_000
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VERSIONED_FIELDS = ("title", "summary", "body", "kind")


def visible_now(model, now):
    """SQL criteria for 'published and inside its dates' at ``now``."""
    return (
        model.state == "published",
        or_(model.publish_at.is_(None), model.publish_at <= now),
        or_(model.expire_at.is_(None), model.expire_at > now),
    )


NOW = bindparam("now", type_=UTCDateTime())
"""The moment of a prepared public read (the service's clock, passed at execution)."""


def visible_at_now(table):
    """``visible_now`` for a prepared Core statement on ``content_items``: the moment is
    the bind parameter ``now``, so the statement is built once, not on every request."""
    return (
        table.c.state == "published",
        or_(table.c.publish_at.is_(None), table.c.publish_at <= NOW),
        or_(table.c.expire_at.is_(None), table.c.expire_at > NOW),
    )


NEWEST_POSTS_FIRST = [
    SortKey(func.coalesce(Post.publish_at, Post.published_at), True, datetime.fromisoformat,
            lambda post: post.publish_at or post.published_at),
    SortKey(Post.id, True, int, lambda post: post.id),
]
"""Posts by when they went public (a scheduled post from its publish time), newest first."""


@dataclass(frozen=True, slots=True)
class PostCard:
    """What a list of posts shows of one post (the public pages read only these
    columns, tags included, in one statement)."""

    slug: str
    title: str
    summary: str
    kind: str
    publish_at: datetime | None
    published_at: datetime | None
    tags: list

    @property
    def shown_at(self):
        """When it went public (a scheduled post from its publish time)."""
        return self.publish_at or self.published_at


@dataclass(frozen=True, slots=True)
class HeaderImage:
    """The site's header photo without its bytes: its address, text and size."""

    public_key: str
    alt_text: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class SiteFront:
    """The top of a site's page: the introduction's title and HTML (``title`` None when
    the site somehow has no introduction page) and the header photo, if any."""

    title: str | None
    body_html: object
    header_image: HeaderImage | None


def shown_html(body, body_html):
    """A content body's HTML: the one kept when it was saved, else rendered now."""
    return Markup(body_html) if body_html is not None else render_markdown(body)


def tag_list(aggregated) -> list:
    """Tags aggregated in SQL (``a,b``), in the order the post's ``tags`` gives them."""
    return sorted(aggregated.split(",")) if aggregated else []


_CONTENT = ContentItem.__table__
_TAGS = ContentTag.__table__
_IMAGES = Image.__table__
_SITES = Site.__table__

TAG_SEPARATOR = literal_column("','")
"""Written into the SQL rather than bound: a bound separator is a literal-execute
parameter, which makes the statement's SQL finished only at execution."""

_POST_TAGS = (
    select(func.aggregate_strings(_TAGS.c.tag, TAG_SEPARATOR))
    .where(_TAGS.c.content_id == _CONTENT.c.id)
    .scalar_subquery()
)
_VISIBLE_POSTS = (
    select(_CONTENT.c.slug, _CONTENT.c.title, _CONTENT.c.summary, _CONTENT.c.kind,
           _CONTENT.c.publish_at, _CONTENT.c.published_at, _POST_TAGS.label("tags"))
    .where(_CONTENT.c.site_id == bindparam("site_id"), _CONTENT.c.type == "post",
           *visible_at_now(_CONTENT))
    .order_by(func.coalesce(_CONTENT.c.publish_at, _CONTENT.c.published_at).desc(),
              _CONTENT.c.id.desc())
    .limit(bindparam("limit")).offset(bindparam("offset"))
    .execution_options(**GENERIC_PLAN)
)
VISIBLE_POSTS = {
    False: _VISIBLE_POSTS,
    True: _VISIBLE_POSTS.where(_CONTENT.c.id.in_(
        select(_TAGS.c.content_id).where(_TAGS.c.tag == bindparam("tag")))),
}
"""One page of a site's visible posts with their tags, newest first; without and with
the tag filter. Prepared once: building the statement was a large part of its cost."""

SITE_FRONT = (
    select(_CONTENT.c.title, _CONTENT.c.body, _CONTENT.c.body_html, _IMAGES.c.public_key,
           _IMAGES.c.alt_text, _IMAGES.c.width, _IMAGES.c.height)
    .select_from(
        _SITES
        .outerjoin(_CONTENT, and_(_CONTENT.c.site_id == _SITES.c.id,
                                  _CONTENT.c.type == IntroPage.__mapper_args__[
                                      "polymorphic_identity"]))
        .outerjoin(_IMAGES, and_(_IMAGES.c.site_id == _SITES.c.id,
                                 _IMAGES.c.public_key == _SITES.c.header_image_key))
    )
    .where(_SITES.c.id == bindparam("site_id"))
    .execution_options(**GENERIC_PLAN)
)
"""The introduction and the header photo's row (without its bytes) in one statement."""

POST_TAGS = select(func.aggregate_strings(_TAGS.c.tag, TAG_SEPARATOR)).where(
    _TAGS.c.content_id == bindparam("id")).execution_options(**GENERIC_PLAN)


def _site_front(rows) -> SiteFront:
    title, body, body_html, key, alt_text, width, height = rows.one()
    image = None if key is None else HeaderImage(key, alt_text, width, height)
    return SiteFront(title, shown_html(body, body_html), image)


def _post_card(row) -> PostCard:
    slug, title, summary, kind, publish_at, published_at, tags = row
    return PostCard(slug, title, summary, kind, publish_at, published_at, tag_list(tags))


class PublicContent:
    """Read side for visitors: the intro page and the visible posts of a site."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock

    def intro(self, site):
        return self.dbsession.scalar(select(IntroPage).where(IntroPage.site_id == site.id))

    def front(self, site) -> SiteFront:
        return read_one(self.dbsession, self.front_read(site))

    def front_read(self, site) -> Read:
        """The introduction (its stored HTML, rendered here only for a text saved before
        the HTML was kept) and the header photo, for the site's page."""
        return Read(SITE_FRONT, {"site_id": site.id}, _site_front)

    def posts(self, site, *, tag=None, page=1, page_size=POSTS_PAGE_SIZE) -> Page:
        return read_one(self.dbsession, self.posts_read(site, tag=tag, page=page,
                                                        page_size=page_size))

    def posts_read(self, site, *, tag=None, page=1, page_size=POSTS_PAGE_SIZE) -> Read:
        """Visible posts, newest first (by when they went public), as ``PostCard``."""
        params = {"site_id": site.id, "now": self.clock()}
        if tag:
            params["tag"] = tag
        return rows_page_read(VISIBLE_POSTS[bool(tag)], params, page=page,
                              page_size=page_size, make=_post_card)

    def post_extras(self, post):
        """A post's tags (one short statement, not the ORM's collection load) and its
        HTML, for its page: ``(tags, html)``."""
        tags = read_rows(self.dbsession, POST_TAGS, {"id": post.id}).scalar()
        return tag_list(tags), shown_html(post.body, post.body_html)

    def posts_after(self, site, *, tag=None, cursor=None, limit=POSTS_PAGE_SIZE) -> Slice:
        """The same posts in the same order, a slice after ``cursor`` (the API)."""
        return fetch_slice(self.dbsession, self._visible_posts(site, tag), NEWEST_POSTS_FIRST,
                           cursor=cursor, limit=limit)

    def _visible_posts(self, site, tag):
        criteria = [Post.site_id == site.id, *visible_now(Post, self.clock())]
        if tag:
            criteria.append(
                Post.id.in_(select(ContentTag.content_id).where(ContentTag.tag == tag))
            )
        # Tags joined in the same statement (the page is limited first, in a subquery):
        # the news list is one of the most visited pages.
        return select(Post).options(joinedload(Post.tag_rows)).where(*criteria)

    def next_change(self, site):
        """The next moment a scheduled publish or expiry changes what the site shows
        (None when nothing is scheduled): cached public pages must end by then."""
        now = self.clock()
        of_site = (ContentItem.site_id == site.id, ContentItem.state == "published")
        publish, expire = self.dbsession.execute(select(
            select(func.min(ContentItem.publish_at))
            .where(*of_site, ContentItem.publish_at > now).scalar_subquery(),
            select(func.min(ContentItem.expire_at))
            .where(*of_site, ContentItem.expire_at > now).scalar_subquery(),
        )).one()
        return min((moment for moment in (publish, expire) if moment is not None), default=None)


STATE_LABELS = {
    "draft": _("Draft"),
    "review": _("In review"),
    "published": _("Published"),
    "archived": _("Archived"),
}


@dataclass(frozen=True)
class TransitionRule:
    """One allowed step. ``needs_publish``: only a site admin or a reviewer (公開承認者)."""

    name: str
    label: object
    needs_publish: bool = False
    needs_comment: bool = False


TRANSITIONS = {
    ("draft", "review"): TransitionRule("submit", _("Submit for review")),
    ("draft", "published"): TransitionRule("publish", _("Publish now"), needs_publish=True),
    ("review", "published"): TransitionRule(
        "approve", _("Approve and publish"), needs_publish=True
    ),
    ("review", "draft"): TransitionRule(
        "send_back", _("Send back to the writer"), needs_publish=True, needs_comment=True
    ),
    # Taking something down never waits for approval, so wrong information can go at once.
    ("published", "archived"): TransitionRule("archive", _("Archive (stop showing)")),
    ("archived", "draft"): TransitionRule("reopen", _("Reopen as a draft")),
}


def normalise_slug(raw: str) -> str:
    """Full-width letters typed on a Japanese keyboard become ASCII; case is folded."""
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


class PublishingService:
    """Editing the introduction page and posts, their versions and the workflow."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    # -- reading, for staff ------------------------------------------------

    def manage_list(self, site, state=None, page=1, page_size=MANAGE_PAGE_SIZE) -> Page:
        """Every post of a site, in any state, most recently changed first."""
        criteria = [Post.site_id == site.id]
        if state is not None:
            if state not in CONTENT_STATES:
                raise InvalidInput(_("Unknown state."), field="state")
            criteria.append(Post.state == state)
        statement = (
            select(Post).where(*criteria).order_by(Post.updated_at.desc(), Post.id.desc())
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=page_size,
                          counted=True)

    def history(self, item) -> list:
        """The workflow record (who, when, comment), newest first."""
        return list(
            self.dbsession.scalars(
                select(ContentTransition)
                .options(selectinload(ContentTransition.actor))
                .where(ContentTransition.content_id == item.id)
                .order_by(ContentTransition.id.desc())
            )
        )

    def versions(self, item) -> list:
        """Saved versions, newest first, with who saved each."""
        return list(
            self.dbsession.scalars(
                select(ContentVersion)
                .options(selectinload(ContentVersion.created_by))
                .where(ContentVersion.content_id == item.id)
                .order_by(ContentVersion.number.desc())
            )
        )

    def version(self, item, number: int):
        found = self.dbsession.scalar(
            select(ContentVersion).where(
                ContentVersion.content_id == item.id, ContentVersion.number == number
            )
        )
        if found is None:
            raise InvalidInput(_("There is no version ${number}.", mapping={"number": number}))
        return found

    def available_transitions(self, item, *, may_publish: bool) -> list:
        """The steps this person may take from the item's state, as ``(to_state, rule)``."""
        if isinstance(item, IntroPage):
            return []
        return [
            (to_state, rule)
            for (from_state, to_state), rule in TRANSITIONS.items()
            if from_state == item.state and (may_publish or not rule.needs_publish)
        ]

    # -- posts -------------------------------------------------------------

    def create_post(self, actor, site, title, slug, summary, body, kind, tags,
                    publish_at=None, expire_at=None) -> Post:
        """A new post starts as a draft (下書き) with version 1."""
        slug = self._checked_slug(site, slug) if slug else self._generated_slug(site)
        post = self.add_draft(actor, Post(site_id=site.id, slug=slug), title=title,
                              summary=summary, body=body, kind=kind, tags=tags,
                              publish_at=publish_at, expire_at=expire_at)
        self.audit.record(actor, "content.create", site_id=site.id, target=post, slug=slug)
        return post

    def add_draft(self, actor, item, *, title, summary, body, kind, tags=(), publish_at=None,
                  expire_at=None):
        """Save a new item of any content type (a post, a project) as a draft with version
        1, so every type shares one workflow and one version history. The caller sets
        its own type's columns and the slug; the shared fields are checked here."""
        fields = self._checked_fields(title=title, summary=summary, body=body, kind=kind, tags=tags)
        self._check_dates(publish_at, expire_at)
        now = self.clock()
        for name in VERSIONED_FIELDS:
            setattr(item, name, fields[name])
        item.state, item.version = "draft", 1
        item.publish_at, item.expire_at = publish_at, expire_at
        item.created_at = item.updated_at = now
        item.created_by_id = item.updated_by_id = actor.account_id
        self.dbsession.add(item)
        self.dbsession.flush()
        self._set_tags(item, fields["tags"])
        self._save_version(actor, item)
        return item

    def update(self, actor, item, *, expected_version=None, **fields):
        """Save an edit as a new version. A published post stays published; the edit is
        recorded in the workflow history so readers of the record see who changed it."""
        self._check_fresh(item, expected_version)
        dates = {k: fields.pop(k) for k in ("publish_at", "expire_at") if k in fields}
        unknown = set(fields) - {"title", "summary", "body", "kind", "tags"}
        if unknown:
            raise InvalidInput(_("These fields cannot be edited: ${names}",
                                 mapping={"names": ", ".join(sorted(unknown))}))
        current = {"title": item.title, "summary": item.summary, "body": item.body,
                   "kind": item.kind, "tags": item.tags}
        checked = self._checked_fields(**{**current, **fields})
        if dates:
            publish_at = dates.get("publish_at", item.publish_at)
            expire_at = dates.get("expire_at", item.expire_at)
            self._check_dates(publish_at, expire_at)
            item.publish_at, item.expire_at = publish_at, expire_at
        self._apply(actor, item, checked)
        if item.state == "published" and not isinstance(item, IntroPage):
            self._record_transition(actor, item, "published", "published", "")
        self.audit.record(actor, "content.update", site_id=item.site_id, target=item,
                          version=item.version)
        return item

    def transition(self, actor, item, to_state, comment="", *, may_publish: bool):
        """Move an item along the workflow, or refuse naming the rule that stops it."""
        comment = (comment or "").strip()
        if isinstance(item, IntroPage):
            raise NotAllowed(_("The introduction page is always public; it has no workflow."))
        rule = TRANSITIONS.get((item.state, to_state))
        if rule is None:
            raise NotAllowed(
                _("This step is not possible from the post's current state. Reload the "
                  "page to see which steps are available now.")
            )
        if rule.needs_publish and not may_publish:
            raise NotAllowed(
                _("Only a site administrator or an editor with the reviewer role may do this "
                  "(publish or send back).")
            )
        if rule.needs_comment and not comment:
            raise InvalidInput(
                _("Write a comment saying what needs to change before sending it back."),
                field="comment",
            )
        if to_state == "published":
            self._check_publishable(item)
        from_state = item.state
        item.state = to_state
        now = self.clock()
        if to_state == "published":
            item.published_at = now
        item.updated_at = now
        item.updated_by_id = actor.account_id
        self._record_transition(actor, item, from_state, to_state, comment)
        self.audit.record(actor, f"content.{rule.name}", site_id=item.site_id, target=item,
                          from_state=from_state, to_state=to_state)
        return item

    def restore(self, actor, item, version_number: int, *, expected_version=None):
        """Bring back an earlier text as a new version; the versions in between stay."""
        self._check_fresh(item, expected_version)
        old = self.version(item, version_number)
        fields = {"title": old.title, "summary": old.summary, "body": old.body,
                  "kind": old.kind, "tags": [t for t in old.tags if t in INTERESTS]}
        self._apply(actor, item, fields)
        if item.state == "published" and not isinstance(item, IntroPage):
            self._record_transition(actor, item, "published", "published", "")
        self.audit.record(actor, "content.restore", site_id=item.site_id, target=item,
                          restored=version_number, version=item.version)
        return item

    # -- the introduction page ---------------------------------------------

    def intro(self, site) -> IntroPage:
        """The site's introduction page (自治体紹介ページ), created if it is somehow missing,
        so there is always exactly one (the unique slug per site guarantees 'one')."""
        page = self.dbsession.scalar(select(IntroPage).where(IntroPage.site_id == site.id))
        if page is None:
            now = self.clock()
            page = IntroPage(site_id=site.id, slug=IntroPage.SLUG, title=site.name, body="",
                             state="published", published_at=now, created_at=now,
                             updated_at=now)
            self.dbsession.add(page)
            self.dbsession.flush()
        return page

    def update_intro(self, actor, site, title, body, *, expected_version=None) -> IntroPage:
        """Save the introduction page as a new version, live at once.

        Choice: the intro page is always present on the site's top page, so it never
        leaves the published state and has no review step; what an editor saves is what
        visitors see. Earlier versions stay viewable and restorable, so a bad edit is
        undone by restoring.
        """
        page = self.intro(site)
        self._check_fresh(page, expected_version)
        fields = self._checked_fields(title=title, summary=page.summary, body=body,
                                      kind=page.kind, tags=[])
        self._apply(actor, page, fields)
        self.audit.record(actor, "intro.update", site_id=site.id, target=page,
                          version=page.version)
        return page

    # -- rules -------------------------------------------------------------

    def _checked_fields(self, *, title, summary, body, kind, tags) -> dict:
        title = (title or "").strip()
        if not title:
            raise InvalidInput(_("Enter a title."), field="title")
        if len(title) > TITLE_MAX:
            raise InvalidInput(_("The title is too long (at most ${n} characters).",
                                 mapping={"n": TITLE_MAX}), field="title")
        summary = (summary or "").strip()
        if len(summary) > SUMMARY_MAX:
            raise InvalidInput(_("The summary is too long (at most ${n} characters).",
                                 mapping={"n": SUMMARY_MAX}), field="summary")
        body = body or ""
        if len(body) > BODY_MAX:
            raise InvalidInput(_("The text is too long (at most ${n} characters).",
                                 mapping={"n": BODY_MAX}), field="body")
        if kind not in POST_KINDS:
            raise InvalidInput(_("Choose a kind of post from the list."), field="kind")
        tags = list(dict.fromkeys(tags or []))
        unknown = [t for t in tags if t not in INTERESTS]
        if unknown:
            raise InvalidInput(
                _("Unknown tag: ${tags}. Choose tags from the list of interests.",
                  mapping={"tags": ", ".join(unknown)}),
                field="tags",
            )
        return {"title": title, "summary": summary, "body": body, "kind": kind, "tags": tags}

    @staticmethod
    def _check_dates(publish_at, expire_at):
        if publish_at is not None and expire_at is not None and expire_at <= publish_at:
            raise InvalidInput(_("The end of publication must be after its start."),
                               field="expire_at")

    def _check_publishable(self, item):
        if item.expire_at is not None and item.expire_at <= self.clock():
            raise InvalidInput(
                _("The end of publication has already passed. Change or clear it first."),
                field="expire_at",
            )

    @staticmethod
    def _check_fresh(item, expected_version):
        if expected_version is not None and expected_version != item.version:
            raise Conflict(
                _("Someone saved this page after you opened it (it is now version "
                  "${current}; you started from version ${yours}). Your text is kept below: "
                  "copy it, reload the page and apply your changes again.",
                  mapping={"current": item.version, "yours": expected_version}),
            )

    def _checked_slug(self, site, raw) -> str:
        slug = normalise_slug(raw)
        if len(slug) > SLUG_MAX or not SLUG_PATTERN.match(slug):
            raise InvalidInput(
                _("Use only lower-case letters a-z, digits and single hyphens "
                  "(for example: apple-harvest-2026), at most ${n} characters.",
                  mapping={"n": SLUG_MAX}),
                field="slug",
            )
        if slug in RESERVED_SLUGS:
            raise InvalidInput(_("\"${slug}\" is reserved for the system. Choose another.",
                                 mapping={"slug": slug}), field="slug")
        taken = self.dbsession.scalar(
            select(ContentItem.id).where(ContentItem.site_id == site.id, ContentItem.slug == slug)
        )
        if taken is not None:
            raise Conflict(_("Another page of this site already uses \"${slug}\".",
                             mapping={"slug": slug}), field="slug")
        return slug

    def _generated_slug(self, site) -> str:
        """Today's Tokyo date and a counter, e.g. ``20261125-2``."""
        prefix = to_tokyo(self.clock()).strftime("%Y%m%d")
        used = set(
            self.dbsession.scalars(
                select(ContentItem.slug).where(
                    ContentItem.site_id == site.id, ContentItem.slug.like(prefix + "%")
                )
            )
        )
        counter = 1
        while f"{prefix}-{counter}" in used:
            counter += 1
        return f"{prefix}-{counter}"

    # -- writing -----------------------------------------------------------

    def _apply(self, actor, item, fields):
        """Put checked fields on the item and save them as the next version."""
        self._ensure_baseline(item)
        for name in VERSIONED_FIELDS:
            setattr(item, name, fields[name])
        self._set_tags(item, fields["tags"])
        item.version += 1
        item.updated_at = self.clock()
        item.updated_by_id = actor.account_id
        self._save_version(actor, item)

    def _set_tags(self, item, tags):
        """Change only the rows that differ (the tag is part of the row's key)."""
        wanted = set(tags)
        for row in list(item.tag_rows):
            if row.tag not in wanted:
                item.tag_rows.remove(row)
        have = {row.tag for row in item.tag_rows}
        for tag in tags:
            if tag not in have:
                item.tag_rows.append(ContentTag(tag=tag))
        self.dbsession.flush()

    def _save_version(self, actor, item):
        self.dbsession.add(
            ContentVersion(
                content_id=item.id, number=item.version, title=item.title,
                summary=item.summary, body=item.body, kind=item.kind, tags=list(item.tags),
                created_at=self.clock(), created_by_id=actor.account_id,
            )
        )
        self.dbsession.flush()

    def _ensure_baseline(self, item):
        """Content loaded without any version row (seeded before versioning) gets its
        current state saved as its current number first, so nothing is lost on edit."""
        has_any = self.dbsession.scalar(
            select(ContentVersion.id).where(ContentVersion.content_id == item.id).limit(1)
        )
        if has_any is None:
            self.dbsession.add(
                ContentVersion(
                    content_id=item.id, number=item.version, title=item.title,
                    summary=item.summary, body=item.body, kind=item.kind,
                    tags=list(item.tags), created_at=item.updated_at,
                    created_by_id=item.updated_by_id,
                )
            )
            self.dbsession.flush()

    def _record_transition(self, actor, item, from_state, to_state, comment):
        self.dbsession.add(
            ContentTransition(content_id=item.id, from_state=from_state, to_state=to_state,
                              actor_id=actor.account_id, at=self.clock(), comment=comment)
        )
        self.dbsession.flush()

