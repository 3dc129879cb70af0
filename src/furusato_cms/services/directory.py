"""The public directory of participating sites (参加自治体一覧)."""
import unicodedata
from sqlalchemy import or_, select

from ..models import Site
from .paging import SortKey, fetch_page, fetch_slice

PAGE_SIZE = 30


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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

    def search_after(self, query="", prefecture_code=None, *, cursor=None, limit=PAGE_SIZE):
        """The same search in code order (a prefecture's code comes before its
        municipalities'), a slice after ``cursor``."""
        statement = select(Site).where(*self._criteria(query, prefecture_code))
        return fetch_slice(self.dbsession, statement, BY_CODE, cursor=cursor, limit=limit)

    @staticmethod
    def _criteria(query, prefecture_code) -> list:
        criteria = [Site.state == "active", Site.preparing.is_(False)]
        query = unicodedata.normalize("NFKC", query or "").strip()
        if query:
            pattern = f"%{_like_escape(query)}%"
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
