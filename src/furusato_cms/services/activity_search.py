"""Activities across the country (全国の担い手活動さがし): the sessions still to come of every
public project of every public site, found by keyword, prefecture, theme, dates,
online/onsite, whether taking part counts toward premium, and places left.

One row is one dated session (what a person actually joins), in date order, continued by
keyset (starts_at, id) so the last page costs what the first does. The query walks the
partial index ``ix_activity_sessions_open_starts`` (migration 0026 explains the choice of
a plain ``LIKE`` for keywords) and reaches project, content and site rows by primary key.
"""
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager

from ..clock import TOKYO
from ..interests import INTERESTS
from ..localgov import PREFECTURES
from ..models import ActivitySession, Project, SessionApplication, Site
from .errors import InvalidInput
from .paging import SortKey, Slice, fetch_slice
from .projects import ProjectService
from .publishing import visible_now
from ..i18n import _

PAGE_SIZE = 20
LIMIT_MAX = 100
KEYWORD_MAX = 100
MODES = ("online", "onsite")
PREFECTURE_CODES = frozenset(code for code, *_rest in PREFECTURES)


@dataclass(frozen=True)
class ActivityQuery:
    """What a visitor asks for; empty fields do not filter. Dates are Japan dates."""

    keyword: str = ""
    prefecture: str | None = None
    tag: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    mode: str | None = None
    """``online``, ``onsite`` or None (both)."""
    designated: bool = False
    """Only activities that count toward premium (プレミアム登録の要件になる活動)."""
    places_left: bool = False

    def checked(self) -> "ActivityQuery":
        """The query with its keyword normalised, or InvalidInput naming the field."""
        keyword = " ".join(unicodedata.normalize("NFKC", self.keyword or "").split())
        if len(keyword) > KEYWORD_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": KEYWORD_MAX}),
                               field="q")
        if self.prefecture is not None and self.prefecture not in PREFECTURE_CODES:
            raise InvalidInput(_("Unknown prefecture."), field="prefecture")
        if self.tag is not None and self.tag not in INTERESTS:
            raise InvalidInput(_("Unknown tag. Choose one of the tags shown on the page."),
                               field="tag")
        if self.mode is not None and self.mode not in MODES:
            raise InvalidInput(_("Choose online or on site."), field="mode")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise InvalidInput(_("The end date must not be before the start date."),
                               field="to")
        return ActivityQuery(keyword, self.prefecture, self.tag, self.date_from, self.date_to,
                             self.mode, bool(self.designated), bool(self.places_left))


@dataclass(frozen=True)
class ActivityHit:
    """One session found, with its project, site and the places still free (None: no
    limit)."""

    session: ActivitySession
    places_left: int | None

    @property
    def project(self) -> Project:
        return self.session.project

    @property
    def site(self) -> Site:
        return self.session.project.site


def _moment(value) -> datetime:
    return datetime.fromisoformat(value)


BY_START = [
    SortKey(ActivitySession.starts_at, False, _moment, lambda s: s.starts_at),
    SortKey(ActivitySession.id, False, int, lambda s: s.id),
]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def tokyo_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), TOKYO)


class ActivitySearch:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def search(self, query: ActivityQuery, *, cursor=None, limit=PAGE_SIZE) -> Slice:
        """A slice of matching sessions after ``cursor`` (items are ActivityHit);
        raises InvalidInput for a bad query and paging.BadCursor for a foreign cursor."""
        query = query.checked()
        limit = max(1, min(limit, LIMIT_MAX))
        statement = (
            select(ActivitySession)
            .join(Project, Project.id == ActivitySession.project_id)
            .join(Site, Site.id == Project.site_id)
            .options(contains_eager(ActivitySession.project).contains_eager(Project.site))
            .where(*self._criteria(query))
        )
        found = fetch_slice(self.dbsession, statement, BY_START, cursor=cursor, limit=limit)
        seats = ProjectService(self.dbsession, clock=self.clock,
                               settings=self.settings).seats(found.items)
        return Slice([ActivityHit(s, seats[s.id].left) for s in found.items],
                     found.next_cursor)

    def featured(self, limit=3) -> list:
        """The soonest activities with places left that count toward premium, one per
        project (for the top page)."""
        hits, seen = [], set()
        cursor = None
        for _attempt in range(3):
            found = self.search(ActivityQuery(designated=True, places_left=True),
                                cursor=cursor, limit=limit * 4)
            for hit in found.items:
                if hit.project.id not in seen:
                    seen.add(hit.project.id)
                    hits.append(hit)
            cursor = found.next_cursor
            if len(hits) >= limit or cursor is None:
                break
        return hits[:limit]

    def _criteria(self, query: ActivityQuery) -> list:
        now = self.clock()
        lower = now
        if query.date_from is not None:
            lower = max(lower, tokyo_day_start(query.date_from))
        criteria = [
            ActivitySession.cancelled_at.is_(None),
            ActivitySession.starts_at >= lower,
            Site.state == "active", Site.preparing.is_(False),
            *visible_now(Project, now),
        ]
        if query.date_to is not None:
            criteria.append(
                ActivitySession.starts_at < tokyo_day_start(query.date_to + timedelta(days=1)))
        for term in query.keyword.split():
            pattern = f"%{_like_escape(term)}%"
            criteria.append(or_(Project.title.ilike(pattern, escape="\\"),
                                Project.summary.ilike(pattern, escape="\\"),
                                Site.name.like(pattern, escape="\\")))
        if query.prefecture:
            criteria.append(Site.prefecture_code == query.prefecture)
        if query.tag:
            criteria.append(Project.field == query.tag)
        if query.mode:
            criteria.append(ActivitySession.online.is_(query.mode == "online"))
        if query.designated:
            criteria.append(Project.designated.is_(True))
        if query.places_left:
            taken = (select(func.count()).select_from(SessionApplication)
                     .where(SessionApplication.session_id == ActivitySession.id,
                            SessionApplication.state == "applied")
                     .correlate(ActivitySession).scalar_subquery())
            criteria.append(or_(ActivitySession.capacity.is_(None),
                                and_(ActivitySession.capacity > taken)))
        return criteria
