"""国が決める設定 (national settings): the end of the fee-free period and the national
inactivity release period, decided by the national operator and read by every rule that
needs them. Services read them here, once per service, never from a request."""
from datetime import date

from sqlalchemy import select

from ..i18n import _
from ..models import NationalSettings
from ..models.national import DEFAULT_INACTIVITY_DAYS, INACTIVITY_DAYS_RANGE
from .audit import Actor, AuditLog
from .errors import InvalidInput

SETTINGS_ID = 1
FIELDS = ("free_period_end", "inactivity_days")

INACTIVITY_MESSAGE = _("The national inactivity period must be from ${low} to ${high} days.")


def inactivity_days_sql():
    """The national inactivity period as an SQL scalar, for set-based rules that compare
    it row by row (the release rule) without reading it first."""
    return (
        select(NationalSettings.inactivity_days)
        .where(NationalSettings.id == SETTINGS_ID)
        .scalar_subquery()
    )


class NationalSettingsService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def current(self) -> NationalSettings:
        """The one row (the migration creates it; made here only if someone removed it)."""
        row = self.dbsession.get(NationalSettings, SETTINGS_ID)
        if row is None:
            row = NationalSettings(id=SETTINGS_ID, inactivity_days=DEFAULT_INACTIVITY_DAYS)
            self.dbsession.add(row)
            self.dbsession.flush()
        return row

    def update(self, actor: Actor, *, free_period_end: date | None, inactivity_days: int) -> dict:
        """Change the national settings; returns ``{field: (old, new)}`` of what changed,
        each change recorded in the audit log with both values."""
        low, high = INACTIVITY_DAYS_RANGE
        if not isinstance(inactivity_days, int) or not low <= inactivity_days <= high:
            raise InvalidInput(INACTIVITY_MESSAGE % {"low": low, "high": high},
                               field="inactivity_days")
        if free_period_end is not None and not isinstance(free_period_end, date):
            raise InvalidInput(_("Enter a date."), field="free_period_end")
        row = self.current()
        values = {"free_period_end": free_period_end, "inactivity_days": inactivity_days}
        changes = {name: (getattr(row, name), value) for name, value in values.items()
                   if getattr(row, name) != value}
        if not changes:
            return changes
        for name, (_old, new) in changes.items():
            setattr(row, name, new)
        row.updated_at = self.clock()
        row.updated_by_id = actor.account_id
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            actor, "national.settings", target=("NationalSettings", SETTINGS_ID),
            changed={name: [_plain(old), _plain(new)] for name, (old, new) in changes.items()},
        )
        return changes


def _plain(value):
    """Dates go into the audit log's JSON as ISO text."""
    return value.isoformat() if isinstance(value, date) else value
