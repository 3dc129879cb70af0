"""The statements of check-in and the attendance screens (出席の SQL), built once at import:
the check-in scan (columns made into objects, models/row_entities.py), a person's
history, a session's attendance list and one row of it, the registrant search, and the
recording insert of each database. ``services/attendance`` runs them."""
from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..models import (
    GENERIC_PLAN,
    STANDALONE_WRITE,
    WRITES,
    Account,
    ActivitySession,
    Attendance,
    ContentItem,
    Project,
    Registration,
    SessionApplication,
    Site,
)
from ..models.row_entities import EntityColumns, columns_of
from .webhooks import attendance_recorded_with

LIKE_ESCAPE = "/"
"""The escape character of the registrant search's LIKE patterns."""


def registered(site_id, account_id):
    """Whether the account has an active registration with the site (an EXISTS)."""
    return select(Registration.id).where(
        Registration.site_id == site_id,
        Registration.account_id == account_id,
        Registration.state == "active",
    ).exists()


SCANNED_SESSION, SCANNED_PROJECT, SCANNED_SITE, SCANNED_ATTENDANCE = (
    EntityColumns(model) for model in (ActivitySession, Project, Site, Attendance))
SCAN_QUERY = (
    select(*columns_of(SCANNED_SESSION, SCANNED_PROJECT, SCANNED_SITE, SCANNED_ATTENDANCE),
           registered(ActivitySession.site_id, bindparam("account_id")).label("registered"),
           select(SessionApplication.state).where(
               SessionApplication.session_id == ActivitySession.id,
               SessionApplication.account_id == bindparam("account_id"),
           ).scalar_subquery().label("application"))
    .join(Project, Project.id == ActivitySession.project_id)
    .join(Site, Site.id == Project.site_id)
    .outerjoin(Attendance, (Attendance.session_id == ActivitySession.id)
               & (Attendance.account_id == bindparam("account_id")))
    .where(ActivitySession.id == bindparam("session_id"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    .execution_options(**GENERIC_PLAN)
)
"""A session with its project, the project's site and a person's attendance, read as
columns and made into the objects (models/row_entities.py): the ORM's loading of these
four wide rows was a third of a check-in's time. ``session.project`` and
``project.site`` are set as a joined load sets them. Nothing matches a NULL account, so
an anonymous scan reads no attendance."""


_ATTENDANCES = Attendance.__table__
_ACCOUNTS = Account.__table__
_RECORDERS = _ACCOUNTS.alias("recorder")
_SESSIONS = ActivitySession.__table__
_CONTENT = ContentItem.__table__
_SITES = Site.__table__

HISTORY = (
    select(_SITES.c.code, _SITES.c.name, _ATTENDANCES.c.attended_at, _ATTENDANCES.c.source,
           _CONTENT.c.title, _SESSIONS.c.place)
    .select_from(
        _ATTENDANCES.join(_SESSIONS, _SESSIONS.c.id == _ATTENDANCES.c.session_id)
        .join(_CONTENT, _CONTENT.c.id == _SESSIONS.c.project_id)
        .join(_SITES, _SITES.c.id == _ATTENDANCES.c.site_id)
    )
    .where(_ATTENDANCES.c.account_id == bindparam("account_id"),
           _ATTENDANCES.c.voided_at.is_(None))
    .order_by(_SITES.c.code, _ATTENDANCES.c.attended_at.desc(), _ATTENDANCES.c.id.desc())
    .execution_options(**GENERIC_PLAN)
)
"""A person's counted attendance with its site, project title and place (the project's
title is its content row's: the session's project id is that row's id), built once."""


def _staff_rows():
    """The columns of ``AttendanceRow``, each record with its person and recorder."""
    return (
        select(_ATTENDANCES.c.id, _ATTENDANCES.c.attended_at, _ATTENDANCES.c.recorded_at,
               _ATTENDANCES.c.source, _ATTENDANCES.c.voided_at, _ATTENDANCES.c.void_reason,
               _ACCOUNTS.c.display_name, _ACCOUNTS.c.email,
               func.coalesce(_RECORDERS.c.display_name, "").label("recorded_by"))
        .select_from(
            _ATTENDANCES.join(_ACCOUNTS, _ACCOUNTS.c.id == _ATTENDANCES.c.account_id)
            .outerjoin(_RECORDERS, _RECORDERS.c.id == _ATTENDANCES.c.recorded_by_id)
        )
    )


SESSION_ATTENDANCE = (
    _staff_rows().where(_ATTENDANCES.c.session_id == bindparam("session_id"))
    .order_by(_ATTENDANCES.c.recorded_at, _ATTENDANCES.c.id)
)
"""Every record of a session as ``AttendanceRow`` columns, built once."""
ATTENDANCE_ROW = _staff_rows().where(_ATTENDANCES.c.id == bindparam("attendance_id"))
"""One record as ``AttendanceRow`` columns (the void page)."""


_REGISTRATIONS = Registration.__table__
_FOLDED_NAME = func.replace(func.replace(func.lower(_ACCOUNTS.c.display_name), " ", ""),
                            "\u3000", "")
"""A name as the search compares it: lower case, without ASCII or ideographic spaces."""
_NEEDLE = bindparam("needle")
SEARCH = (
    select(_ACCOUNTS.c.id, _ACCOUNTS.c.display_name, _ACCOUNTS.c.email, _ATTENDANCES.c.id)
    .select_from(
        _ACCOUNTS.join(_REGISTRATIONS, _REGISTRATIONS.c.account_id == _ACCOUNTS.c.id)
        .outerjoin(_ATTENDANCES, (_ATTENDANCES.c.account_id == _ACCOUNTS.c.id)
                   & (_ATTENDANCES.c.session_id == bindparam("session_id")))
    )
    .where(
        _REGISTRATIONS.c.site_id == bindparam("site_id"),
        _REGISTRATIONS.c.state == "active",
        _FOLDED_NAME.contains(_NEEDLE, escape=LIKE_ESCAPE)
        | func.lower(_ACCOUNTS.c.email).contains(_NEEDLE, escape=LIKE_ESCAPE),
    )
    .order_by(_ACCOUNTS.c.display_name, _ACCOUNTS.c.id)
    .limit(bindparam("limit"))
)
"""Active registrants of a site whose folded name or email contains ``needle`` (escaped
by ``_like_escaped``), with their record of the session if any; built once."""


def like_escaped(text: str) -> str:
    """``text`` matched literally by LIKE … ESCAPE '/' (what ``autoescape=True`` does)."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
            .replace("_", LIKE_ESCAPE + "_"))


def _record_statement(dialect):
    """``INSERT … ON CONFLICT (session_id, account_id) DO NOTHING RETURNING *`` in the
    dialect's words, with every value bound at execution (the ORM's own bulk-insert path
    costs twice the time for one row). On PostgreSQL the same statement queues the row's
    webhook events (a data-modifying CTE over the ``RETURNING``), so a check-in is one
    statement fewer, and runs as a standalone write (models/lazy_begin.py: no BEGIN or
    COMMIT round trip when it is the request's first write); its row is read as columns
    (``RECORDED``: models/compiled_reads.py, models/row_entities.py). SQLite's is read as
    an Attendance and queues the events after."""
    columns = ("session_id", "account_id", "site_id", "attended_at", "recorded_at", "source",
               "recorded_by_id", "designated")
    table = Attendance.__table__
    insert = (
        dialect.insert(table)
        .values(void_reason="", **{name: bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=["session_id", "account_id"])
        .returning(*table.c)
    )
    if not RECORD_QUEUES_EVENTS[dialect.dialect.name]:
        return select(Attendance).from_statement(insert).execution_options(**GENERIC_PLAN)
    created = insert.cte("created")
    return (
        select(*(created.c[column.key] for column in RECORDED.columns))
        .add_cte(attendance_recorded_with(created).cte("queued"))
        .execution_options(**WRITES, **GENERIC_PLAN, **STANDALONE_WRITE)
    )


RECORDED = EntityColumns(Attendance)
"""The columns of the row PostgreSQL's recording insert returns, to be made its object."""
columns_of(RECORDED)


RECORD_QUEUES_EVENTS = {"postgresql": True, "sqlite": False}
"""Whether the recording insert also writes the webhook outbox (data-modifying CTEs)."""
RECORD = {"postgresql": _record_statement(postgresql), "sqlite": _record_statement(sqlite)}
"""The recording insert of each supported database, built once."""
