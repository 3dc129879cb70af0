"""The public directory of participating sites (参加自治体一覧)."""
import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_, select

from ..models import Site
from .paging import Page, SortKey, fetch_page, fetch_slice, read_rows

PAGE_SIZE = 30


@dataclass(frozen=True, slots=True)
class SiteCard:
    """A participating site as the top page's directory lists it."""

    code: str
    name: str
    name_kana: str


_SITES = Site.__table__
_PATTERN = bindparam("pattern")
_DIRECTORY_ORDER = (_SITES.c.prefecture_code, _SITES.c.kind.desc(), _SITES.c.code)


def _listed(named: bool, in_prefecture: bool) -> list:
    """``SiteDirectory._criteria`` on the table, the query and prefecture as bind
    parameters (``pattern``, ``prefecture``)."""
    criteria = [_SITES.c.state == "active", _SITES.c.preparing.is_(False)]
    if named:
        criteria.append(or_(_SITES.c.name.like(_PATTERN, escape="\\"),
                            _SITES.c.name_kana.like(_PATTERN, escape="\\")))
    if in_prefecture:
        criteria.append(_SITES.c.prefecture_code == bindparam("prefecture"))
    return criteria


DIRECTORY_PAGES = {
    (named, in_prefecture): (
        select(_SITES.c.code, _SITES.c.name, _SITES.c.name_kana,
               func.count().over().label("total"))
        .where(*_listed(named, in_prefecture))
        .order_by(*_DIRECTORY_ORDER)
        .limit(bindparam("limit")).offset(bindparam("offset"))
    )
    for named in (False, True) for in_prefecture in (False, True)
}
"""One page of ``search`` with the count of every match (a window over the same rows), in
one statement built once per shape of query."""
DIRECTORY_COUNTS = {
    shape: select(func.count()).select_from(_SITES).where(*_listed(*shape))
    for shape in DIRECTORY_PAGES
}
"""The count alone, for a page past the last (it has no row to carry the count)."""


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pattern(query) -> str | None:
    """The LIKE pattern of a name or kana query (NFKC-normalised), None when empty."""
    query = unicodedata.normalize("NFKC", query or "").strip()
    return f"%{_like_escape(query)}%" if query else None


class SiteDirectory:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession

    def search(self, query: str = "", prefecture_code: str | None = None, page: int = 1):
        """Active sites whose name or kana contains the query (NFKC-normalised), prefectures first."""
        statement = (
            select(Site).where(*self._criteria(query, prefecture_code))
            .order_by(Site.prefecture_code, Site.kind.desc(), Site.code)
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=PAGE_SIZE,
                          counted=True)

    def listing(self, query: str = "", prefecture_code: str | None = None,
                page: int = 1) -> Page:
        """``search`` for the top page: a counted page of ``SiteCard``, in one statement
        (two for a page past the last)."""
        pattern = _pattern(query)
        shape = (pattern is not None, bool(prefecture_code))
        params = {"pattern": pattern, "prefecture": prefecture_code}
        rows = read_rows(self.dbsession, DIRECTORY_PAGES[shape], {
            **params, "limit": PAGE_SIZE + 1, "offset": (page - 1) * PAGE_SIZE}).all()
        if rows:
            total = rows[0].total
        else:
            total = read_rows(self.dbsession, DIRECTORY_COUNTS[shape], params).scalar()
        items = [SiteCard(code, name, kana) for code, name, kana, _total in rows[:PAGE_SIZE]]
        return Page(items=items, page=page, page_size=PAGE_SIZE, more=len(rows) > PAGE_SIZE,
                    total=total)

    def search_after(self, query="", prefecture_code=None, *, cursor=None, limit=PAGE_SIZE):
        """The same search in code order (a prefecture's code comes before its
        municipalities'), a slice after ``cursor``."""
        statement = select(Site).where(*self._criteria(query, prefecture_code))
        return fetch_slice(self.dbsession, statement, BY_CODE, cursor=cursor, limit=limit)

    @staticmethod
    def _criteria(query, prefecture_code) -> list:
        criteria = [Site.state == "active", Site.preparing.is_(False)]
        pattern = _pattern(query)
        if pattern is not None:
            criteria.append(
                or_(Site.name.like(pattern, escape="\\"), Site.name_kana.like(pattern, escape="\\"))
            )
        if prefecture_code:
            criteria.append(Site.prefecture_code == prefecture_code)
        return criteria

    def active_site(self, code: str) -> Site | None:
        return self.dbsession.scalar(select(Site).where(Site.code == code,
                                                        Site.state == "active",
                                                        Site.preparing.is_(False)))


BY_CODE = [SortKey(Site.code, False, str, lambda site: site.code)]
