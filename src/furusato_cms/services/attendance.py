"""Attendance at contributor activities (担い手活動の出席記録): check-in by QR code,
recording by staff, voiding, and the history and lists built from it.

Premium registration will be judged on these rows, so they are never lost and never
doubled:

- one row per person and session: the insert is ``INSERT … ON CONFLICT DO NOTHING`` on
  the table's unique key (PostgreSQL and SQLite alike), so any number of scans at once
  leave exactly one row and every scan is answered "recorded" or "already recorded";
- rows are never deleted: voiding keeps the row with who, when and why, and voided rows
  count nowhere (history, counts) while staff still see them;
- ``attended_at`` is the session's start: what the activity counts as, whenever it was
  recorded;
- ``designated`` is the project's designation when the row is recorded (read from the
  project already loaded with the session, so it costs no statement): premium counts
  use it, and designating or undesignating the project later changes no past count.

Check-in (the person's own scan) is accepted from ``site.checkin_before_minutes``
before the start until ``site.checkin_after_minutes`` after the end, both ends included.
It is open to any registrant account, registered with the site or not: the attendance
is a fact and is kept either way (a person who registers later keeps it), and the
result says when the person is not registered with the site yet. A session that needs
an application (申込制) accepts only people whose application is ``applied`` (not
waiting). Staff may record from the moment check-in opens, without a closing time
(paper lists come in later), whatever the application state; by hand they pick from the
site's registrants only, so no stranger's account can be recorded, while a card code is
the person's own act and is accepted like their own scan.

History is grouped per site and Japanese fiscal year (年度, April to March, in Tokyo
time), the year local governments plan and report activities in.
"""
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import to_tokyo
from ..i18n import _
from ..spreadsheet import csv_bytes
from ..models import Account, ActivitySession, Attendance
from .audit import AuditLog
from .card_codes import CardCodes
from .checkin_tokens import CheckinTokens, TokenRefused, rotate
from .errors import Conflict, InvalidInput, NotAllowed
from .attendance_statements import (
    ATTENDANCE_ROW,
    HISTORY,
    RECORD,
    RECORD_QUEUES_EVENTS,
    RECORDED,
    SCAN_QUERY,
    SCANNED_ATTENDANCE,
    SCANNED_PROJECT,
    SCANNED_SESSION,
    SCANNED_SITE,
    SEARCH,
    SESSION_ATTENDANCE,
    like_escaped,
    registered,
)
from .paging import Read, read_one, read_rows
from .webhooks import attendance_recorded

TIME_FORMAT = "%Y/%m/%d %H:%M"
"""How refusals name a moment (Tokyo time): readable in Japanese and English alike."""
STAFF_SOURCES = ("staff", "card")
SEARCH_LIMIT = 20
REASON_MAX = 500
SOURCE_LABELS = {
    "qr": _("QR check-in"),
    "staff": _("Recorded by staff"),
    "card": _("Card scanned by staff"),
    "import": _("Imported record"),
}
EXPORT_COLUMNS = (
    _("Participant"), _("Email"), _("Activity date"), _("Recorded at"), _("How recorded"),
    _("Recorded by"), _("Voided at"), _("Reason for voiding"),
)


@dataclass(frozen=True)
class Recorded:
    """The answer to a check-in or a staff recording.

    ``status``: "recorded" (a new row), "already" (the person's attendance was recorded
    before) or "voided" (it was recorded and then voided by staff; nothing changes)."""

    attendance: Attendance
    account: Account
    status: str
    registered: bool = True
    """Whether the person has an active registration with the session's site."""

    @property
    def created(self) -> bool:
        return self.status == "recorded"


def _all_rows(rows) -> list:
    return rows.all()


@dataclass(frozen=True)
class Scan:
    """A check-in code read for one person: the session it names (with its project and
    site) and what the rules need to know about the person there, from one query."""

    session: ActivitySession
    registered: bool = False
    """Whether the person has an active registration with the session's site."""
    application: str | None = None
    """The state of the person's application to the session, if any."""
    attendance: Attendance | None = None
    """The person's record of the session as read with the rest (None: none yet)."""


@dataclass(frozen=True)
class CheckinView:
    """What the check-in page shows before the tap."""

    session: ActivitySession
    refusal: object = None
    """Why check-in is not possible now (a message), or None."""
    attendance: Attendance | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    attended_at: datetime
    project_title: str
    place: str
    source: str


@dataclass
class HistoryGroup:
    site_code: str
    site_name: str
    fiscal_year: int
    entries: list = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """A record of a session as its staff see it (the list, the void page, the CSV): the
    record's own columns, the person's name and address and who recorded it ("" for the
    person's own scan or an import)."""

    id: int
    attended_at: datetime
    recorded_at: datetime
    source: str
    voided_at: datetime | None
    void_reason: str
    name: str
    email: str
    recorded_by: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A registrant of the site found by the staff search, as the page shows them."""

    id: int
    display_name: str
    email: str
    recorded: bool


def counted(rows) -> int:
    """How many of a session's records (``AttendanceRow``) count: voided ones do not."""
    return sum(1 for row in rows if row.voided_at is None)


def source_labels(translate) -> dict:
    """How each source of a record is named, translated once for a whole page (a list
    names one for every row)."""
    return {source: translate(label) for source, label in SOURCE_LABELS.items()}


def fiscal_year(moment: datetime) -> int:
    """年度: April to March, counted in Tokyo time."""
    local = to_tokyo(moment)
    return local.year if local.month >= 4 else local.year - 1


def _when(moment: datetime) -> str:
    return to_tokyo(moment).strftime(TIME_FORMAT)


class AttendanceService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.tokens = CheckinTokens(settings)
        self.cards = CardCodes(dbsession, clock=clock)

    # -- codes ---------------------------------------------------------------------

    def checkin_url(self, session) -> str:
        return f"{self.settings.base_url}/checkin/{self.tokens.token_for(session)}"

    def session_for_token(self, token: str) -> ActivitySession:
        """The session a check-in code names, refused when altered, replaced or unknown."""
        return self.scan(token, None).session

    def scan_read(self, session_id: int, account) -> Read:
        """``scan``'s one query as a ``Read`` (its rows as a list) for the session a code
        named (``tokens.read``), so a request can send it with the signed-in identity's
        (resources/checkin.py)."""
        return Read(SCAN_QUERY, {"session_id": session_id,
                                 "account_id": None if account is None else account.id},
                    _all_rows)

    def scan(self, token: str, account, *, rows=None) -> Scan:
        """The code's session with its project and site, and ``account``'s registration,
        application and attendance there (None: nobody signed in), in one query — the
        check-in pages run at festival rates — unless ``rows`` are ``scan_read``'s,
        already read with the identity. Refused like ``session_for_token``."""
        read = self.tokens.read(token)
        dbsession = self.dbsession
        if rows is None:
            rows = read_one(dbsession, self.scan_read(read[0], account))
        row = rows[0] if rows else None
        if row is None:
            raise TokenRefused("unknown", _("This session no longer exists."))
        session = SCANNED_SESSION.entity(dbsession, row)
        project = SCANNED_PROJECT.entity(dbsession, row)
        set_committed_value(project, "site", SCANNED_SITE.entity(dbsession, row))
        set_committed_value(session, "project", project)
        self.tokens.require_current(read, session)
        return Scan(session, bool(row[-2]), row[-1], SCANNED_ATTENDANCE.entity(dbsession, row))

    def rotate(self, actor, session):
        """A new code for the session; posters printed before stop working."""
        rotate(session)
        self.dbsession.flush()
        self._audit(actor, "attendance.rotate_code", session, version=session.token_version)

    def card_code_for(self, account, *, renew=False, now=None):
        """The code on a registrant's card code page (a ``CardCode``: digits and expiry):
        the live one, or a new one when asked or when it expired."""
        self._require_registrant(account)
        if renew:
            return self.cards.issue(account.id, now)
        return self.cards.current(account.id, now)

    def account_from_card_code(self, text: str, now=None) -> Account:
        return self.cards.account_of(text, now)

    # -- check-in by the person ---------------------------------------------------

    def window(self, session) -> tuple[datetime, datetime]:
        """When check-in opens and closes (both moments included)."""
        site = session.project.site
        return (
            session.starts_at - timedelta(minutes=site.checkin_before_minutes),
            session.ends_at + timedelta(minutes=site.checkin_after_minutes),
        )

    def is_public(self, session, now=None) -> bool:
        """Check-in exists only for a visible project on an active site."""
        project = session.project
        return project.site.is_public and project.is_visible_at(now or self.clock())

    def checkin_view(self, account, token, now=None, *, rows=None) -> CheckinView:
        """The session of a code and whether ``account`` (None: not signed in) could check
        in now (``rows``: as for ``scan``). An altered code or a hidden project is refused
        outright."""
        now = now or self.clock()
        scan = self.scan(token, account, rows=rows)
        self._require_public(scan.session, now)
        existing = scan.attendance
        refusal = self._refusal(scan, account, now) if existing is None else None
        return CheckinView(session=scan.session, refusal=refusal, attendance=existing)

    def check_in(self, account, token, *, now=None) -> Recorded:
        """Record ``account``'s attendance from the code on the poster (source "qr")."""
        return self.check_in_scan(account, self.scan(token, account), now=now)

    def check_in_scan(self, account, scan: Scan, *, now=None) -> Recorded:
        """``check_in`` for a code already read by ``scan`` for this ``account`` (the
        view reads it first to decide permission on the session's project)."""
        now = now or self.clock()
        self._require_public(scan.session, now)
        refusal = self._refusal(scan, account, now)
        if refusal is not None:
            raise NotAllowed(refusal)
        attendance, status = self._record(scan.session, account, "qr", now)
        return Recorded(attendance, account, status, scan.registered)

    # -- recording by staff -------------------------------------------------------

    def record_by_staff(self, actor, session, account, source="staff") -> Recorded:
        """Staff record a person's attendance: by hand ("staff", registrants of the site
        only) or from the person's card code ("card")."""
        if source not in STAFF_SOURCES:
            raise ValueError(f"not a staff source: {source}")
        now = self.clock()
        self._require_recordable_by_staff(session, now)
        self._require_registrant(account)
        if source == "staff":
            self._require_registered(session.site_id, account)
        attendance, status = self._record(session, account, source, now,
                                          recorded_by=actor.account_id)
        registered = source == "staff" or self._is_registered(session.site_id, account)
        result = Recorded(attendance, account, status, registered)
        if result.created:
            self._audit(actor, "attendance.record", result.attendance, source=source,
                        session_id=session.id, account_id=account.id)
        return result

    def record_by_card(self, actor, session, code) -> Recorded:
        """Staff record the person whose card code (提示用コード) was typed or scanned."""
        return self.record_by_staff(
            actor, session, self.account_from_card_code(code), source="card"
        )

    def void(self, actor, attendance, reason):
        """Void a record with a reason: the row stays, with who voided it and why, and
        counts nowhere from then on."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput(_("Please give the reason for voiding."), field="reason")
        if len(reason) > REASON_MAX:
            raise InvalidInput(_("Please keep the reason within ${n} characters.",
                                 mapping={"n": REASON_MAX}), field="reason")
        now = self.clock()
        changed = self.dbsession.execute(
            update(Attendance)
            .where(Attendance.id == attendance.id, Attendance.voided_at.is_(None))
            .values(voided_at=now, void_reason=reason, voided_by_id=actor.account_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise Conflict(_("This attendance has already been voided."))
        self.dbsession.refresh(attendance)
        self._audit(actor, "attendance.void", attendance, reason=reason,
                    session_id=attendance.session_id, account_id=attendance.account_id)

    # -- reading ------------------------------------------------------------------

    def attendance_of(self, session, account) -> Attendance | None:
        return self.dbsession.scalar(
            select(Attendance).where(
                Attendance.session_id == session.id, Attendance.account_id == account.id
            )
        )

    def attendance_in(self, session, attendance_id: int) -> Attendance | None:
        return self.dbsession.scalar(
            select(Attendance).where(
                Attendance.id == attendance_id, Attendance.session_id == session.id
            )
        )

    def history(self, account) -> list[HistoryGroup]:
        """The person's own counted attendance (voided rows left out), per site and fiscal
        year, newest year first; one prepared statement of the columns the page shows."""
        groups = []
        for (code, name, year), items in groupby(
            read_rows(self.dbsession, HISTORY, {"account_id": account.id}),
            key=lambda row: (row[0], row[1], fiscal_year(row[2])),
        ):
            groups.append(HistoryGroup(code, name, year, [
                HistoryEntry(attended_at, title, place, source)
                for _code, _name, attended_at, source, title, place in items
            ]))
        return groups

    def session_attendance(self, session) -> list[AttendanceRow]:
        """Every record of a session for its staff, voided ones included, in the order
        they were recorded; one prepared statement of the columns staff see."""
        return [AttendanceRow(*row) for row in read_rows(
            self.dbsession, SESSION_ATTENDANCE, {"session_id": session.id})]

    def staff_page(self, actor, session, query: str) -> tuple[list, list]:
        """The attendance list of a session and, when ``query`` is given, the registrant
        search beside it, for staff: both show registrants' names and addresses, so
        each is audited as a read of personal data (``attendance.list_view``,
        ``attendance.registrant_search``). The search logs who was shown, by account id,
        never the words typed: they may be a person's name, and the log is append-only."""
        rows = self.session_attendance(session)
        candidates = self.search_registrants(session, query)
        self._audit(actor, "attendance.list_view", session, rows=len(rows))
        if query and query.strip():
            self._audit(actor, "attendance.registrant_search", session,
                        shown=[candidate.id for candidate in candidates])
        return rows, candidates

    def row_of(self, attendance) -> AttendanceRow:
        return AttendanceRow(*read_rows(self.dbsession, ATTENDANCE_ROW,
                                        {"attendance_id": attendance.id}).one())

    def export_csv(self, actor, session, *, translate) -> bytes:
        """The session's attendance as CSV for Excel (UTF-8 with BOM); the read is audited."""
        rows = self.session_attendance(session)
        lines = [[translate(label) for label in EXPORT_COLUMNS]] + [
            [
                row.name, row.email, _when(row.attended_at), _when(row.recorded_at),
                translate(SOURCE_LABELS[row.source]), row.recorded_by,
                _when(row.voided_at) if row.voided_at else "", row.void_reason,
            ]
            for row in rows
        ]
        self._audit(actor, "attendance.export", session, rows=len(rows))
        return csv_bytes(lines)

    def search_registrants(self, session, query: str) -> list[Candidate]:
        """Registrants of the session's site whose name or email contains ``query``
        (case, width and spaces ignored), with whether they are already recorded."""
        needle = "".join(unicodedata.normalize("NFKC", query or "").lower().split())
        if not needle:
            return []
        rows = read_rows(self.dbsession, SEARCH, {
            "site_id": session.site_id, "session_id": session.id,
            "needle": like_escaped(needle), "limit": SEARCH_LIMIT,
        })
        return [Candidate(account_id, name, email, attendance_id is not None)
                for account_id, name, email, attendance_id in rows]

    def registrant_at(self, site_id: int, account_id: int) -> Account:
        """A person with an active registration with the site (for recording by hand)."""
        account = self.dbsession.get(Account, account_id)
        if account is None or not self._is_registered(site_id, account):
            raise InvalidInput(_("This person is not registered with this site."))
        return account

    # -- rules ------------------------------------------------------------------

    def _require_public(self, session, now):
        if not self.is_public(session, now):
            raise NotAllowed(_("This activity is not open to the public."))

    def _refusal(self, scan, account, now):
        """Why ``account`` cannot check in to the scanned session now, or None."""
        session = scan.session
        if session.cancelled_at is not None:
            return _("This session has been cancelled.")
        opens, closes = self.window(session)
        if now < opens:
            return _("Check-in opens at ${time}. Please scan the code again then.",
                     mapping={"time": _when(opens)})
        if now > closes:
            return _("Check-in for this session closed at ${time}. Please ask the staff.",
                     mapping={"time": _when(closes)})
        if account is None:
            return None
        if account.kind != "registrant":
            return _("Only registrant accounts can check in. Staff record attendance on "
                     "the session's attendance page.")
        if session.application_required:
            return _application_refusal(scan.application)
        return None

    def _require_recordable_by_staff(self, session, now):
        if session.cancelled_at is not None:
            raise NotAllowed(_("This session has been cancelled."))
        opens, _closes = self.window(session)
        if now < opens:
            raise NotAllowed(_("Attendance can be recorded from ${time}, when check-in opens.",
                               mapping={"time": _when(opens)}))

    @staticmethod
    def _require_registrant(account):
        if account.kind != "registrant":
            raise NotAllowed(_("Only registrant accounts can have attendance recorded."))

    def _require_registered(self, site_id, account):
        if not self._is_registered(site_id, account):
            raise InvalidInput(_("This person is not registered with this site."))

    def _is_registered(self, site_id, account) -> bool:
        return self.dbsession.scalar(select(registered(site_id, account.id)))

    def _record(self, session, account, source, now, recorded_by=None) -> tuple:
        """Insert the row unless the person already has one for the session; ``(row,
        status)``. The unique key decides under concurrency: a conflicting insert waits
        for the other transaction and then does nothing, and the row that won is read
        back. The new row comes back from the insert itself (RETURNING)."""
        dialect = self.dbsession.get_bind().dialect.name
        values = {
            "session_id": session.id, "account_id": account.id, "site_id": session.site_id,
            "attended_at": session.starts_at, "recorded_at": now, "source": source,
            "recorded_by_id": recorded_by, "designated": session.project.designated,
        }
        if RECORD_QUEUES_EVENTS[dialect]:
            row = read_rows(self.dbsession, RECORD[dialect], values).first()
            created = None if row is None else RECORDED.entity(self.dbsession, row)
        else:
            created = self.dbsession.scalars(RECORD[dialect], values).first()
            if created is not None:
                attendance_recorded(self.dbsession, now, [created.id])
        if created is not None:
            return created, "recorded"
        attendance = self.dbsession.scalars(
            select(Attendance)
            .where(Attendance.session_id == session.id, Attendance.account_id == account.id)
            .execution_options(populate_existing=True)
        ).one()
        return attendance, "voided" if attendance.voided_at is not None else "already"

    def _audit(self, actor, action, target, **detail):
        AuditLog(self.dbsession, self.clock).record(
            actor, action, site_id=getattr(target, "site_id", None), target=target, **detail
        )


def _application_refusal(state):
    """Why a person whose application is in ``state`` (None: none) cannot check in to a
    session that needs an accepted application, or None."""
    if state == "applied":
        return None
    if state == "waitlisted":
        return _("You are on the waiting list for this session. Only people whose "
                 "application was accepted can check in; please ask the staff.")
    return _("This session takes applications in advance, and we have no accepted "
             "application from you. Please ask the staff.")
