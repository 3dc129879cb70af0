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

from sqlalchemy import and_, bindparam, func, or_, select

from ..clock import TOKYO
from ..i18n import _
from ..interests import INTERESTS
from ..localgov import PREFECTURES
from ..models import ActivitySession, ContentItem, Project, SessionApplication, Site
from .errors import InvalidInput
from .paging import Slice, SortKey, decode_cursor, encode_cursor, read_rows
from .publishing import NOW, visible_at_now

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


@dataclass(frozen=True, slots=True)
class HitSession:
    """A session found: what the page and the API show of it."""

    id: int
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int | None
    application_required: bool
    online: bool
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class HitProject:
    id: int
    title: str
    summary: str
    field: str
    designated: bool


@dataclass(frozen=True, slots=True)
class HitSite:
    code: str
    name: str
    name_kana: str
    kind: str
    prefecture_code: str


@dataclass(frozen=True)
class ActivityHit:
    """One session found, with its project, site and the places still free (None: no
    limit): the columns shown, read in the search's one statement."""

    session: HitSession
    project: HitProject
    site: HitSite
    places_left: int | None


def _moment(value) -> datetime:
    return datetime.fromisoformat(value)


BY_START = [
    SortKey(ActivitySession.starts_at, False, _moment, lambda s: s.starts_at),
    SortKey(ActivitySession.id, False, int, lambda s: s.id),
]
"""The keyset of the search (a cursor holds a session's start and id)."""


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def tokyo_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), TOKYO)


_SESSIONS = ActivitySession.__table__
_PROJECTS = Project.__table__
_CONTENT = ContentItem.__table__
_SITES = Site.__table__
_APPLICATIONS = SessionApplication.__table__
_TAKEN = (
    select(func.count()).where(_APPLICATIONS.c.session_id == _SESSIONS.c.id,
                               _APPLICATIONS.c.state == "applied")
    .correlate(_SESSIONS).scalar_subquery()
)
"""Places held in a session (applications in the ``applied`` state)."""
_HITS = (
    select(_SESSIONS.c.id, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at, _SESSIONS.c.place,
           _SESSIONS.c.capacity, _SESSIONS.c.application_required, _SESSIONS.c.online,
           _SESSIONS.c.cancelled_at,
           _PROJECTS.c.id, _CONTENT.c.title, _CONTENT.c.summary, _PROJECTS.c.field,
           _PROJECTS.c.designated,
           _SITES.c.code, _SITES.c.name, _SITES.c.name_kana, _SITES.c.kind,
           _SITES.c.prefecture_code, _TAKEN)
    .select_from(
        _SESSIONS.join(_PROJECTS, _PROJECTS.c.id == _SESSIONS.c.project_id)
        .join(_CONTENT, _CONTENT.c.id == _PROJECTS.c.id)
        .join(_SITES, _SITES.c.id == _CONTENT.c.site_id)
    )
    .order_by(_SESSIONS.c.starts_at, _SESSIONS.c.id)
)
"""Sessions with their project, site and places held, in date order: every search is
this statement with its conditions and a limit."""


def _conditions(query: "ActivityQuery", lower) -> list:
    """The search's rules as SQL on the tables: sessions not cancelled from ``lower`` on,
    of visible projects (at the bind parameter ``now``) of public sites, narrowed by
    the query."""
    criteria = [
        _SESSIONS.c.cancelled_at.is_(None),
        _SESSIONS.c.starts_at >= lower,
        _SITES.c.state == "active", _SITES.c.preparing.is_(False),
        *visible_at_now(_CONTENT),
    ]
    if query.date_to is not None:
        criteria.append(
            _SESSIONS.c.starts_at < tokyo_day_start(query.date_to + timedelta(days=1)))
    for term in query.keyword.split():
        pattern = f"%{_like_escape(term)}%"
        criteria.append(or_(_CONTENT.c.title.ilike(pattern, escape="\\"),
                            _CONTENT.c.summary.ilike(pattern, escape="\\"),
                            _SITES.c.name.like(pattern, escape="\\")))
    if query.prefecture:
        criteria.append(_SITES.c.prefecture_code == query.prefecture)
    if query.tag:
        criteria.append(_PROJECTS.c.field == query.tag)
    if query.mode:
        criteria.append(_SESSIONS.c.online.is_(query.mode == "online"))
    if query.designated:
        criteria.append(_PROJECTS.c.designated.is_(True))
    if query.places_left:
        criteria.append(or_(_SESSIONS.c.capacity.is_(None), _SESSIONS.c.capacity > _TAKEN))
    return criteria


def _after(start, session_id):
    """Sessions after (``start``, ``session_id``) in the search's order."""
    return or_(_SESSIONS.c.starts_at > start,
               and_(_SESSIONS.c.starts_at == start, _SESSIONS.c.id > session_id))


_FEATURED = (_HITS.where(*_conditions(ActivityQuery(designated=True, places_left=True), NOW))
             .limit(bindparam("limit")))
FEATURED = {
    False: _FEATURED,
    True: _FEATURED.where(_after(bindparam("after_start"), bindparam("after_id"))),
}
"""The top page's statement, built once: designated sessions with places left from
``now``, without and with a keyset position (``after_start``, ``after_id``)."""


def _hit(row) -> ActivityHit:
    (session_id, starts_at, ends_at, place, capacity, application_required, online,
     cancelled_at, project_id, title, summary, field, designated,
     code, name, name_kana, kind, prefecture_code, taken) = row
    return ActivityHit(
        HitSession(session_id, starts_at, ends_at, place, capacity, application_required,
                   online, cancelled_at),
        HitProject(project_id, title, summary, field, designated),
        HitSite(code, name, name_kana, kind, prefecture_code),
        None if capacity is None else max(capacity - taken, 0),
    )


class ActivitySearch:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def search(self, query: ActivityQuery, *, cursor=None, limit=PAGE_SIZE) -> Slice:
        """A slice of matching sessions after ``cursor`` (items are ActivityHit), in one
        statement; raises InvalidInput for a bad query and paging.BadCursor for a
        foreign cursor."""
        query = query.checked()
        limit = max(1, min(limit, LIMIT_MAX))
        now = self.clock()
        lower = now
        if query.date_from is not None:
            lower = max(lower, tokyo_day_start(query.date_from))
        statement = _HITS.where(*_conditions(query, lower))
        if cursor:
            statement = statement.where(_after(*decode_cursor(cursor, BY_START)))
        rows = read_rows(self.dbsession, statement.limit(limit + 1), {"now": now}).all()
        return self._slice(rows, limit)

    @staticmethod
    def _slice(rows, limit) -> Slice:
        hits = [_hit(row) for row in rows[:limit]]
        if len(rows) <= limit:
            return Slice(hits, None)
        last = hits[-1].session
        return Slice(hits, encode_cursor([key.value_of(last) for key in BY_START]))

    def featured(self, limit=3) -> list:
        """The soonest activities with places left that count toward premium, one per
        project (for the top page): one prepared statement, a second or third only when
        the first sessions belong to fewer projects than asked for."""
        hits, seen = [], set()
        params = {"now": self.clock(), "limit": limit * 4 + 1}
        after = False
        for _attempt in range(3):
            found = self._slice(read_rows(self.dbsession, FEATURED[after], params).all(),
                                limit * 4)
            for hit in found.items:
                if hit.project.id not in seen:
                    seen.add(hit.project.id)
                    hits.append(hit)
            if len(hits) >= limit or found.next_cursor is None:
                break
            last = found.items[-1].session
            params.update(after_start=last.starts_at, after_id=last.id)
            after = True
        return hits[:limit]

