"""One page of a longer list, counted and fetched with two set-based queries."""
from dataclasses import dataclass

from sqlalchemy import func, select


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def fetch_page(dbsession, statement, *, page: int, page_size: int, cls=Page, **extra):
    """Run ``statement`` (an ordered select) for one page, with the total it would return."""
    total = dbsession.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = dbsession.scalars(statement.limit(page_size).offset((page - 1) * page_size)).all()
    return cls(items=list(items), total=total, page=page, page_size=page_size, **extra)
