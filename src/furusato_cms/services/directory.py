"""The public directory of participating sites (参加自治体一覧)."""
import unicodedata
from sqlalchemy import or_, select

from ..models import Site
from .paging import fetch_page

PAGE_SIZE = 30


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SiteDirectory:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession

    def search(self, query: str = "", prefecture_code: str | None = None, page: int = 1):
        """Active sites whose name or kana contains the query (NFKC-normalised), prefectures first."""
        criteria = [Site.state == "active"]
        query = unicodedata.normalize("NFKC", query or "").strip()
        if query:
            pattern = f"%{_like_escape(query)}%"
            criteria.append(
                or_(Site.name.like(pattern, escape="\\"), Site.name_kana.like(pattern, escape="\\"))
            )
        if prefecture_code:
            criteria.append(Site.prefecture_code == prefecture_code)
        statement = (
            select(Site).where(*criteria).order_by(Site.prefecture_code, Site.kind.desc(), Site.code)
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=PAGE_SIZE)
