"""The publishing workflow (公開ワークフロー) and what the public may see.

Visibility is decided at query time from state and the publish/expire dates, so
scheduled publishing needs no background job.
"""
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..models import ContentTag, IntroPage, Post

POSTS_PAGE_SIZE = 10


def visible_now(model, now):
    """SQL criteria for 'published and inside its dates' at ``now``."""
    return (
        model.state == "published",
        or_(model.publish_at.is_(None), model.publish_at <= now),
        or_(model.expire_at.is_(None), model.expire_at > now),
    )


@dataclass(frozen=True)
class PostPage:
    posts: list
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


class PublicContent:
    """Read side for visitors: the intro page and the visible posts of a site."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock

    def intro(self, site):
        return self.dbsession.scalar(select(IntroPage).where(IntroPage.site_id == site.id))

    def posts(self, site, *, tag=None, page=1, page_size=POSTS_PAGE_SIZE) -> PostPage:
        """Visible posts, newest first (by when they went public)."""
        criteria = [Post.site_id == site.id, *visible_now(Post, self.clock())]
        if tag:
            criteria.append(
                Post.id.in_(select(ContentTag.content_id).where(ContentTag.tag == tag))
            )
        total = self.dbsession.scalar(select(func.count()).select_from(Post).where(*criteria))
        shown_from = func.coalesce(Post.publish_at, Post.published_at)
        posts = self.dbsession.scalars(
            select(Post)
            .options(selectinload(Post.tag_rows))
            .where(*criteria)
            .order_by(shown_from.desc(), Post.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        return PostPage(posts=list(posts), total=total, page=page, page_size=page_size)
