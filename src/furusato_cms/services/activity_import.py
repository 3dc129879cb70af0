"""Import of activity records kept before the platform could issue QR codes
(担い手活動実績の取込).

From April 2026 municipalities recorded contributor activities in the national template
(令和8年4月以降における担い手活動実績記録用様式, see shared/fixtures/README.md): one row
per participant per activity, as .xlsx (row 1 group headings, row 2 必須/任意, row 3 the
column names, data from row 4) or as .csv (the column names, then data). People typed
these by hand for months, so every cell is normalised (NFKC, so full-width digits and
spaces count; dates in Western or era spelling) and every problem is answered with a
row-level error ``{row, column, message}`` naming the spreadsheet row and the template's
column letter.

What an import records:

- each activity (rows with the same ID in column A; rows without an ID that share name,
  start, end and place) becomes a Project of the site with one ActivitySession. The
  project is *archived* (公開終了): the activity is over, so it is never advertised and
  never open to check-in, yet staff find it among the site's projects and its attendance
  counts like any other. It is designated (対象), because the site itself kept the
  record. ``(import_site_id, external_ref)`` is unique, so a later import finds it again
  (and its attendance takes that project's designation as it stands then);
- a participant who is a verified registrant (same name without spaces, date of birth
  and postal code as their IdentityVerification) gets Attendance(source="import");
  anyone else becomes a PendingAttendanceClaim that turns into attendance when such a
  person verifies their identity (``attach_pending_claims``).

All or nothing by default: the work runs inside a SAVEPOINT, rolled back when any row has
an error and for a dry run, so a dry run reports exactly what the import would do. With
``valid_rows_only`` the rows without an error are recorded and the others are reported
(and can be handed back as a corrections file, ``services/import_corrections.py``): a
municipality finishes what it can and fixes the rest. Rows are read
as a stream and written in batches with set-based queries and INSERT … ON CONFLICT DO
NOTHING: memory stays bounded for 100,000 rows, and importing a file twice records
nothing twice.
"""
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from itertools import chain, islice

from sqlalchemy import func, select, update

from ..clock import TOKYO, to_tokyo
from ..i18n import _
from ..models import (
    Account,
    ActivitySession,
    Attendance,
    AttendanceImport,
    ContentTransition,
    ContentVersion,
    IdentityVerification,
    PendingAttendanceClaim,
    Project,
    Site,
)
from ..workbooks import UnpackLimits
from .audit import AuditLog
from .bulk_sql import among, insert_ignoring_duplicates
from .tabular_files import (
    CellError,
    FileError,
    RowError,
    bounded_file,
    clean_text,
    file_sha256,
    is_blank,
    name_key,
    postal_code,
    sheet_rows,
    stored_message,
    upload_name,
)
from .cell_dates import moment, parse_birthdate, parse_when
from .webhooks import attendance_recorded

BATCH_ROWS = 1000
"""Rows checked, matched and written together: a few queries per batch, not per row."""
MAX_REPORTED_ERRORS = 1000
"""Errors kept in a report (all are counted): enough to fix a file, bounded in size."""
RECORDS_FROM = datetime(2026, 4, 1, tzinfo=TOKYO)
"""The system counts activities from 令和8年4月1日; earlier ones are refused."""
ACTIVITY_ID_MAX, TITLE_MAX, PLACE_MAX, NAME_MAX, CELL_MAX = 100, 200, 300, 200, 500


@dataclass(frozen=True)
class Column:
    letter: str
    name: str
    required: bool


COLUMNS = (
    Column("A", "ID", False),
    Column("B", "活動名", True),
    Column("C", "活動開始日時", True),
    Column("D", "活動終了日時", True),
    Column("E", "活動場所", True),
    Column("F", "参加条件", False),
    Column("G", "氏名", True),
    Column("H", "郵便番号", True),
    Column("I", "住所(除郵便番号)", True),
    Column("J", "生年月日", True),
    Column("K", "性別", True),
)
_COLUMN_BY_LETTER = {column.letter: column for column in COLUMNS}
HEADING_ROWS = {"xlsx": (3, 1), "csv": (1, 3)}
"""Where the column names are: the template's row first, then the row they are on when
someone removed the headings from a workbook or saved all three rows to CSV."""


# --- errors and the report -------------------------------------------------------------

class TemplateMismatch(FileError):
    """The column names are not the template's; ``errors`` says which, per column."""

    def __init__(self, errors):
        super().__init__(_("The column names are not those of the national template."))
        self.errors = errors


COUNTS = ("activities_created", "activities_matched", "attendance_recorded",
          "already_recorded", "pending_claims")


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do). ``already_recorded`` counts rows
    whose attendance or pending claim existed already (from an earlier import, another
    row of the same file, or a check-in)."""

    file: str
    dry_run: bool = False
    valid_rows_only: bool = False
    rows_read: int = 0
    activities_created: int = 0
    activities_matched: int = 0
    attendance_recorded: int = 0
    already_recorded: int = 0
    pending_claims: int = 0
    error_count: int = 0
    errors: list = field(default_factory=list)
    import_id: int | None = None
    refused: set = field(default_factory=set, repr=False)
    """Numbers of the rows with an error (every one, not only the reported errors')."""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def refused_rows(self) -> int:
        return len(self.refused)

    @property
    def valid_rows(self) -> int:
        return max(self.rows_read - len(self.refused), 0)

    @property
    def recordable(self) -> bool:
        """Whether the import records something: every row right, or (valid rows only)
        at least one."""
        return self.ok or (self.valid_rows_only and self.valid_rows > 0)

    @property
    def imported(self) -> bool:
        return self.recordable and not self.dry_run

    def add_error(self, error: RowError):
        self.error_count += 1
        self.refused.add(error.row)
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def discard(self):
        """Nothing was written: the counts of what was written go back to zero."""
        for name in COUNTS:
            setattr(self, name, 0)

    def as_dict(self, translate=None) -> dict:
        """The report as JSON; without ``translate`` (to be stored) each error keeps its
        msgid and mapping too, so a later reader sees it in their own language."""
        translated = translate is not None
        translate = translate or (lambda message: message.interpolate())
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("errors", "refused")}
        data.update(imported=self.imported, refused_rows=self.refused_rows,
                    valid_rows=self.valid_rows)
        data["errors"] = [
            {"row": e.row, "column": e.column, "message": translate(e.message),
             **({} if translated else stored_message(e.message))}
            for e in sorted(self.errors, key=lambda e: (e.row, e.column))
        ]
        return data


# --- the template's column names ------------------------------------------------------

def heading_errors(number: int, values) -> list:
    """The columns whose name is not the template's (spacing and width ignored)."""
    errors = []
    for column, value in zip(COLUMNS, values):
        found = clean_text(value)
        if name_key(found) == name_key(column.name):
            continue
        message = (_("Column ${column} should be “${expected}” but it is empty.",
                     mapping={"column": column.letter, "expected": column.name})
                   if not found else
                   _("Column ${column} should be “${expected}” but it is “${found}”.",
                     mapping={"column": column.letter, "expected": column.name, "found": found}))
        errors.append(RowError(number, column.letter, message))
    return errors


def template_rows(rows, kind: str):
    """Check the column names, then the non-blank data rows after them (a generator).
    The column names are read at once, so a wrong file is refused before any work."""
    top = list(islice(rows, 3))
    padded = top + [(n, ()) for n in range(len(top) + 1, 4)]
    expected, alternative = HEADING_ROWS[kind]
    checks = {row: heading_errors(row, padded[row - 1][1] + (None,) * len(COLUMNS))
              for row in (expected, alternative)}
    heading = next((row for row in (expected, alternative) if not checks[row]), None)
    if heading is None:
        raise TemplateMismatch(checks[expected])
    return ((number, values) for number, values in chain(top[heading:], rows)
            if not is_blank(values))


# --- one row ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Activity:
    ref: str
    """The external_ref: the activity ID, or a stable hash of name, start, end, place."""
    name: str
    starts_at: datetime
    ends_at: datetime
    place: str
    conditions: str


@dataclass(frozen=True)
class Participant:
    name: str
    birthdate: date
    postal_code: str
    gender: str

    @property
    def key(self) -> tuple:
        return name_key(self.name), self.birthdate, self.postal_code


@dataclass(frozen=True)
class ParsedRow:
    number: int
    activity: Activity
    participant: Participant


class _Cells:
    """One row's cells, read with the checks that turn problems into row errors."""

    def __init__(self, number, values):
        self.number = number
        self.values = dict(zip((c.letter for c in COLUMNS), values))
        self.errors = []

    def error(self, letter, message):
        self.errors.append(RowError(self.number, letter, message))

    def read(self, letter, convert=clean_text, limit=CELL_MAX):
        """The converted cell; None (and an error) when a required one is empty or wrong."""
        raw = self.values.get(letter)
        if is_blank((raw,)):
            if _COLUMN_BY_LETTER[letter].required:
                self.error(letter, _("This required cell is empty. (If cells are merged, "
                                     "unmerge them and fill in every row.)"))
                return None
            return ""
        try:
            value = convert(raw)
        except CellError as exc:
            self.error(letter, exc.message)
            return None
        if isinstance(value, str) and len(value) > limit:
            self.error(letter, _("This is too long: at most ${max} characters.",
                                 mapping={"max": limit}))
            return None
        return value


def _activity_ref(activity_id: str, name, starts_at, ends_at, place) -> str:
    if activity_id:
        return activity_id
    key = "\x1f".join((name, starts_at.isoformat(), ends_at.isoformat(), place))
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _start(cells, now):
    when = cells.read("C", parse_when)
    if when is None:
        return None
    day, at, zone = when
    if day is None or at is None:
        cells.error("C", _("Give the date and the time, like 2026年4月10日 10:00."))
        return None
    starts_at = moment(day, at, zone)
    if starts_at < RECORDS_FROM:
        cells.error("C", _("Activities before 1 April 2026 (令和8年4月1日) cannot be recorded."))
        return None
    if starts_at > now:
        cells.error("C", _("This activity has not taken place yet: only past activities can "
                           "be recorded."))
        return None
    return starts_at


def _end(cells, starts_at):
    when = cells.read("D", parse_when)
    if when is None:
        return None
    day, at, zone = when
    if at is None:
        cells.error("D", _("Give the date and the time, like 2026年4月10日 12:00."))
        return None
    if day is None:
        if starts_at is None:
            return None
        day = to_tokyo(starts_at).date()
    ends_at = moment(day, at, zone)
    if starts_at is not None and ends_at <= starts_at:
        cells.error("D", _("The end must be after the start."))
    return ends_at


def parse_row(number: int, values, now: datetime):
    """(ParsedRow or None, [RowError]) for one data row of the template."""
    cells = _Cells(number, values)
    activity_id = cells.read("A", limit=ACTIVITY_ID_MAX)
    name = cells.read("B", limit=TITLE_MAX)
    starts_at = _start(cells, now)
    ends_at = _end(cells, starts_at)
    place = cells.read("E", limit=PLACE_MAX)
    conditions = cells.read("F")
    person = cells.read("G", limit=NAME_MAX)
    code = cells.read("H", postal_code)
    cells.read("I")  # required by the template; matching uses the postal code instead
    birthdate = cells.read("J", lambda v: parse_birthdate(v, to_tokyo(now).date()))
    gender = cells.read("K", limit=20)
    if cells.errors:
        return None, cells.errors
    activity = Activity(
        ref=_activity_ref(activity_id, name, starts_at, ends_at, place), name=name,
        starts_at=starts_at, ends_at=ends_at, place=place, conditions=conditions,
    )
    return ParsedRow(number, activity, Participant(person, birthdate, code, gender)), []


# --- writing ---------------------------------------------------------------------------

ATTENDANCE_UNIQUE = ("session_id", "account_id")
CLAIM_UNIQUE = ("session_id", "name_key", "birthdate", "postal_code")
_AMBIGUOUS = object()


@dataclass
class _ActivityState:
    activity: Activity
    first_row: int
    session_id: int | None = None
    refused: bool = False
    designated: bool = True
    """The project's designation, stored on each attendance recorded for it."""


_COMPARED = (("B", "name"), ("C", "starts_at"), ("D", "ends_at"), ("E", "place"))


class _ImportRun:
    """One file's import: the activities seen so far (their first row and session) and
    the batch writer. Only this per-activity state grows with the file."""

    def __init__(self, dbsession, *, now, actor, site, record, report):
        self.dbsession = dbsession
        self.now = now
        self.actor = actor
        self.site = site
        self.record = record
        self.report = report
        self.activities = {}

    def process(self, rows):
        batch = []
        for number, values in rows:
            self.report.rows_read += 1
            parsed, errors = parse_row(number, values, self.now)
            for error in errors:
                self.report.add_error(error)
            if parsed is not None and self._consistent(parsed):
                batch.append(parsed)
            if len(batch) >= BATCH_ROWS:
                self._write(batch)
                batch = []
        self._write(batch)

    def _consistent(self, row: ParsedRow) -> bool:
        """Rows with one activity ID must describe one activity."""
        state = self.activities.get(row.activity.ref)
        if state is None:
            self.activities[row.activity.ref] = _ActivityState(row.activity, row.number)
            return True
        for letter, attribute in _COMPARED:
            first = getattr(state.activity, attribute)
            if getattr(row.activity, attribute) != first:
                shown = _shown(first)
                self.report.add_error(RowError(row.number, letter, _(
                    "Rows with the activity ID ${id} must give the same ${column}: row ${row} "
                    "gives “${value}”.", mapping={"id": row.activity.ref, "row": state.first_row,
                                                  "column": _COLUMN_BY_LETTER[letter].name,
                                                  "value": shown})))
                return False
        return True

    def _write(self, batch):
        if not batch:
            return
        self._resolve_activities({row.activity.ref for row in batch})
        rows = [row for row in batch if self.activities[row.activity.ref].session_id]
        accounts = self._accounts({row.participant.key for row in rows})
        attendance, claims = [], []
        for row in rows:
            state = self.activities[row.activity.ref]
            account_id = accounts.get(row.participant.key)
            if account_id is _AMBIGUOUS:
                self.report.add_error(RowError(row.number, "G", _(
                    "Several verified registrants have this name, date of birth and postal "
                    "code: record this attendance by hand.")))
            elif account_id is not None:
                attendance.append(self._attendance(state, account_id))
            else:
                claims.append(self._claim(state, row))
        recorded_ids = insert_ignoring_duplicates(
            self.dbsession, Attendance.__table__, attendance, ATTENDANCE_UNIQUE)
        attendance_recorded(self.dbsession, self.now, recorded_ids)
        recorded = len(recorded_ids)
        pending = len(insert_ignoring_duplicates(
            self.dbsession, PendingAttendanceClaim.__table__, claims, CLAIM_UNIQUE))
        self.report.attendance_recorded += recorded
        self.report.pending_claims += pending
        self.report.already_recorded += len(attendance) + len(claims) - recorded - pending

    def _attendance(self, state, account_id) -> dict:
        return {"session_id": state.session_id, "account_id": account_id,
                "site_id": self.site.id, "attended_at": state.activity.starts_at,
                "recorded_at": self.now, "source": "import", "designated": state.designated,
                "recorded_by_id": self.actor.account_id, "import_id": self.record.id}

    def _claim(self, state, row) -> dict:
        """Only what matching needs, plus the row, the name as written and the gender for
        staff reading the claim; the address is not kept (the postal code matches)."""
        person = row.participant
        return {"session_id": state.session_id, "site_id": self.site.id,
                "name_key": name_key(person.name), "birthdate": person.birthdate,
                "postal_code": person.postal_code, "import_id": self.record.id,
                "source_row": {"row": row.number, "name": person.name, "gender": person.gender},
                "created_at": self.now}

    def _resolve_activities(self, refs):
        """Find the batch's new activities among earlier imports (one query) and create the
        others (one flush). An earlier import with other dates is an error, not a match."""
        waiting = [ref for ref in refs
                   if self.activities[ref].session_id is None and not self.activities[ref].refused]
        if not waiting:
            return
        found = {}
        for project_id, ref, designated, session_id, starts_at, ends_at in self.dbsession.execute(
            select(Project.id, Project.external_ref, Project.designated, ActivitySession.id,
                   ActivitySession.starts_at, ActivitySession.ends_at)
            .outerjoin(ActivitySession, ActivitySession.project_id == Project.id)
            .where(Project.import_site_id == self.site.id, Project.external_ref.in_(waiting))
            .order_by(ActivitySession.starts_at)
        ):
            found.setdefault(ref, (project_id, designated, session_id, starts_at, ends_at))
        created = []
        for ref in waiting:
            state = self.activities[ref]
            project_id, designated, session_id, starts_at, ends_at = found.get(ref, (None,) * 5)
            if project_id is not None:
                state.designated = designated
            if project_id is None:
                project = self._new_project(state.activity)
                created.append((state, self._new_session(project, state.activity)))
                self.report.activities_created += 1
            elif session_id is None:
                created.append((state, self._new_session(project_id, state.activity)))
                self.report.activities_matched += 1
            elif (starts_at, ends_at) != (state.activity.starts_at, state.activity.ends_at):
                state.refused = True
                self.report.add_error(RowError(state.first_row, "C", _(
                    "The activity ID ${id} was imported before with other dates (${start} to "
                    "${end}): give this activity a new ID.",
                    mapping={"id": ref, "start": _shown(starts_at), "end": _shown(ends_at)})))
            else:
                state.session_id = session_id
                self.report.activities_matched += 1
        self.dbsession.flush()
        for state, session in created:
            state.session_id = session.id

    def _new_project(self, activity: Activity) -> Project:
        author = self.actor.account_id
        project = Project(
            site_id=self.site.id, slug=_slug(self.site.id, activity.ref), title=activity.name,
            state="archived", field="other", conditions=activity.conditions, designated=True,
            external_ref=activity.ref, import_site_id=self.site.id, version=1,
            created_at=self.now, updated_at=self.now, created_by_id=author, updated_by_id=author,
        )
        project.versions.append(ContentVersion(number=1, title=activity.name,
                                               created_at=self.now, created_by_id=author))
        project.transitions.append(ContentTransition(
            from_state="draft", to_state="archived", actor_id=author, at=self.now,
            comment=f"{self.record.filename} (#{self.record.id})"))
        self.dbsession.add(project)
        return project

    def _new_session(self, project, activity: Activity) -> ActivitySession:
        session = ActivitySession(
            site_id=self.site.id, starts_at=activity.starts_at, ends_at=activity.ends_at,
            place=activity.place, created_at=self.now,
        )
        if isinstance(project, Project):
            session.project = project
        else:
            session.project_id = project
        self.dbsession.add(session)
        return session

    def _accounts(self, keys) -> dict:
        """Participant key → the verified registrant's account id (or _AMBIGUOUS), for the
        batch's people in one query on (birthdate, postal code); names compared in Python
        because the stored name keeps its spaces."""
        if not keys:
            return {}
        pairs = sorted({(birthdate, code) for _name, birthdate, code in keys})
        found = defaultdict(set)
        for account_id, name, birthdate, code in self.dbsession.execute(
            select(IdentityVerification.account_id, IdentityVerification.name,
                   IdentityVerification.birthdate, IdentityVerification.postal_code)
            .join(Account, Account.id == IdentityVerification.account_id)
            .where(Account.kind == "registrant", Account.disabled_at.is_(None),
                   among(self.dbsession, (IdentityVerification.birthdate,
                                          IdentityVerification.postal_code), pairs))
        ):
            key = (name_key(name), birthdate, code)
            if key in keys:
                found[key].add(account_id)
        return {key: next(iter(ids)) if len(ids) == 1 else _AMBIGUOUS
                for key, ids in found.items()}


def _slug(site_id: int, ref: str) -> str:
    return "import-" + hashlib.sha256(f"{site_id}:{ref}".encode()).hexdigest()[:24]


def _shown(value) -> str:
    if isinstance(value, datetime):
        return to_tokyo(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


# --- the service -----------------------------------------------------------------------

class ActivityImportService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)

    def read_rows(self, filename, stream, *, max_bytes=None):
        """The template's data rows as ``(row number, values of A–K)``, blank rows left
        out, read as a stream (openpyxl read-only for .xlsx; CSV decoded as it goes).

        The file's type, size (``settings.upload_max_bytes`` unless ``max_bytes`` is
        given) and column names are checked at once: FileError (TemplateMismatch with
        per-column errors for wrong names). A file damaged further on raises FileError
        while it is read."""
        limit = self.settings.upload_max_bytes if max_bytes is None else max_bytes
        kind, rows = self._sheet_rows(filename, stream, limit)
        return template_rows(rows, kind)

    def raw_rows(self, filename, stream):
        """``(kind, rows)``: every row of the file as written, headings included, as
        ``(row number, values of A–K)`` — what a corrections copy is made from."""
        return self._sheet_rows(filename, stream, None)

    def _sheet_rows(self, filename, stream, limit):
        return sheet_rows(filename, stream, limit=limit, width=len(COLUMNS),
                          unpack=UnpackLimits.from_settings(self.settings))

    def import_file(self, actor, site, filename, stream, *, dry_run=False,
                    valid_rows_only=False, max_bytes=None) -> ImportReport:
        """Check and record a file of activity records: all or nothing, or with
        ``valid_rows_only`` the rows without an error. Returns the report (errors
        included); raises FileError when the file cannot be used at all."""
        filename = upload_name(filename)
        limit = self.settings.upload_max_bytes if max_bytes is None else max_bytes
        stream = bounded_file(stream, limit)
        digest = file_sha256(stream)
        report = ImportReport(file=filename, dry_run=dry_run, valid_rows_only=valid_rows_only)
        try:
            rows = self.read_rows(filename, stream, max_bytes=limit)
        except TemplateMismatch as exc:
            for error in exc.errors:
                report.add_error(error)
            return report
        savepoint = self.dbsession.begin_nested()
        try:
            record = self._start(actor, site, filename, digest)
            _ImportRun(self.dbsession, now=self.clock(), actor=actor, site=site, record=record,
                       report=report).process(rows)
            if report.rows_read == 0 and report.ok:
                raise FileError(_("The file has no activity rows."))
            if report.imported:
                self._finish(actor, site, record, report)
                savepoint.commit()
            else:
                savepoint.rollback()
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        if not report.recordable:
            report.discard()
        return report

    def _start(self, actor, site, filename, digest) -> AttendanceImport:
        """Imports of one site take turns, so two uploads of the same file cannot both
        create its activities: the site's row is locked on PostgreSQL with FOR NO KEY
        UPDATE, which check-ins inserting attendance of the site do not wait for."""
        self.dbsession.execute(
            select(Site.id).where(Site.id == site.id).with_for_update(key_share=True))
        record = AttendanceImport(site_id=site.id, filename=filename, sha256=digest,
                                  imported_by_id=actor.account_id, imported_at=self.clock(),
                                  report={})
        self.dbsession.add(record)
        self.dbsession.flush()
        return record

    def _finish(self, actor, site, record, report):
        report.import_id = record.id
        record.report = report.as_dict()
        self.audit.record(actor, "attendance.import", site_id=site.id, target=record,
                          filename=record.filename, sha256=record.sha256,
                          **{name: getattr(report, name) for name in ("rows_read", *COUNTS)})
        self.dbsession.flush()

    # -- pending claims ------------------------------------------------------------------

    def attach_pending_claims(self, account, verification) -> int:
        """When a person verifies their identity, every pending claim with their name,
        date of birth and postal code becomes their attendance (set-based: one read, one
        insert, one update). A claim whose session they already attended is attached to
        that attendance. Returns how many claims were attached. Each new row takes its
        project's designation as it stands now, the best knowledge of the day."""
        if not verification.postal_code:
            return 0
        claim = PendingAttendanceClaim
        claims = self.dbsession.execute(
            select(claim.id, claim.session_id, claim.site_id, claim.import_id,
                   ActivitySession.starts_at, Project.designated)
            .join(ActivitySession, ActivitySession.id == claim.session_id)
            .join(Project, Project.id == ActivitySession.project_id)
            .where(claim.attached_at.is_(None), claim.birthdate == verification.birthdate,
                   claim.postal_code == verification.postal_code,
                   claim.name_key == name_key(verification.name))
        ).all()
        if not claims:
            return 0
        now = self.clock()
        attendance_recorded(self.dbsession, now, insert_ignoring_duplicates(
            self.dbsession, Attendance.__table__, [
                {"session_id": c.session_id, "account_id": account.id, "site_id": c.site_id,
                 "attended_at": c.starts_at, "recorded_at": now, "source": "import",
                 "import_id": c.import_id, "designated": c.designated}
                for c in claims
            ], ATTENDANCE_UNIQUE))
        table = claim.__table__
        attendance_id = (select(Attendance.id)
                         .where(Attendance.session_id == table.c.session_id,
                                Attendance.account_id == account.id)
                         .scalar_subquery())
        self.dbsession.execute(
            update(table).where(table.c.id.in_([c.id for c in claims]))
            .values(attached_at=now, attendance_id=attendance_id)
        )
        return len(claims)

    # -- for the admin screen ------------------------------------------------------------

    def imports_of(self, site, limit=50) -> list:
        return list(self.dbsession.scalars(
            select(AttendanceImport).where(AttendanceImport.site_id == site.id)
            .order_by(AttendanceImport.imported_at.desc(), AttendanceImport.id.desc())
            .limit(limit)
        ))

    def pending_claims_count(self, site) -> int:
        return self.dbsession.scalar(
            select(func.count()).select_from(PendingAttendanceClaim).where(
                PendingAttendanceClaim.site_id == site.id,
                PendingAttendanceClaim.attached_at.is_(None))
        )
