"""Published content of a site: the introduction page and posts, with versions and workflow history.

Content lives in one table with a ``type`` column (single-table inheritance) so
that the publishing workflow, versions and history are shared by every kind of
content, including projects in a later part.
"""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..markup import render_markdown
from .meta import Base

CONTENT_STATES = ("draft", "review", "published", "archived")
POST_KINDS = ("news", "event", "attraction", "life")
RESERVED_SLUGS = frozenset(
    {"new", "manage", "edit", "preview", "versions", "transition", "intro", "images",
     "markdown-preview"}
)
"""Names a post's slug may not take: view names of the posts container and its posts."""


class ContentItem(Base):
    __tablename__ = "content_items"
    __table_args__ = (
        UniqueConstraint("site_id", "slug"),
        CheckConstraint(f"state IN {CONTENT_STATES!r}", name="state"),
        Index("ix_content_items_listing", "site_id", "type", "state", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    type: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    """Markdown source; rendered with raw HTML disabled, so it is safe to show."""
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    """``body`` rendered by markup.render_markdown, kept whenever ``body`` is set through
    the ORM (the listener below), so public pages do not render it on every request.
    None: not kept (a row written by a bulk script): the page renders ``body``. A change
    to the renderer's rules needs a migration that sets it to None (or renders again)."""
    kind: Mapped[str] = mapped_column(String(20), default="news")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(default=None)
    """Shown from this time once published; None means at once."""
    expire_at: Mapped[datetime | None] = mapped_column(default=None)
    """Hidden from this time on; None means never."""
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    """When it was last approved for publication."""
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )

    site = relationship("Site")
    tag_rows = relationship(
        "ContentTag", cascade="all, delete-orphan", order_by="ContentTag.tag"
    )
    versions = relationship(
        "ContentVersion",
        cascade="all, delete-orphan",
        order_by="ContentVersion.number.desc()",
        back_populates="content",
    )
    transitions = relationship(
        "ContentTransition",
        cascade="all, delete-orphan",
        order_by="ContentTransition.id.desc()",
    )

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "content"}

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    def is_visible_at(self, moment: datetime) -> bool:
        """Published, and inside its publish/expire window."""
        if self.state != "published":
            return False
        if self.publish_at is not None and self.publish_at > moment:
            return False
        return self.expire_at is None or self.expire_at > moment


@event.listens_for(ContentItem.body, "set", propagate=True)
def _keep_body_html(target, value, _oldvalue, _initiator):
    """Every edit, restore or new item sets ``body``: its HTML is rendered then."""
    target.body_html = str(render_markdown(value))


class IntroPage(ContentItem):
    """自治体紹介ページ: exactly one per site, created with the site."""

    __mapper_args__ = {"polymorphic_identity": "intro"}
    SLUG = "intro"


class Post(ContentItem):
    """発信コンテンツ: news, events, regional attractions, life information."""

    __mapper_args__ = {"polymorphic_identity": "post"}


class ContentTag(Base):
    """A tag of interest on content, from the shared interest vocabulary (see interests.py)."""

    __tablename__ = "content_tags"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ContentVersion(Base):
    """A saved state of the editable fields, so earlier versions can be viewed and restored."""

    __tablename__ = "content_versions"
    __table_args__ = (UniqueConstraint("content_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="news")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )

    content = relationship("ContentItem", back_populates="versions")
    created_by = relationship("Account")


class ContentTransition(Base):
    """One step of the publishing workflow: who moved it, when, and why."""

    __tablename__ = "content_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")

    actor = relationship("Account")
