"""Release of basic registrations for inactivity (非活動による登録の解除).

A basic registration whose person has not signed in for the
inactivity period minus 30 days gets a notice (one mail per person), and is
released 30 days after the notice unless the person signed in since. The period is
the national one (an operator setting) or the site's own when that is longer: a site
may lengthen it, never shorten it. A notice whose period has since grown is
withdrawn and given again in time. Nothing is ever deleted by this rule.
"""
from datetime import timedelta

from sqlalchemy import case, func, insert, literal, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..clock import to_tokyo
from ..dates import format_day
from ..i18n import _
from ..models import Account, Registration, RegistrationEvent, Site
from ..models.meta import UTCDateTime
from .mail import Mail, localizer_for, queue_mail
from .national import inactivity_days_sql
from .webhooks import registration_changed

NOTICE_DAYS = 30
"""The notice goes out this many days before release (解除の30日前通知)."""


class InactivityRelease:
    """The daily run (furusato-release-inactive): set-based and idempotent."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    def run(self, now) -> dict:
        """Cancel notices of people who signed in, release registrations whose notice is
        30 days old, and give notice to newly inactive people. Set-based; idempotent."""
        cancelled = self._apply(_cancel_due(now), now, "release_cancelled",
                                {"release_notice_at": None})
        released = self._apply(_release_due(now), now, "released",
                               {"state": "released", "state_changed_at": now,
                                "release_notice_at": None})
        notices = self._notice_rows(now)
        self._apply(_notice_due(now), now, "release_notice", {"release_notice_at": now})
        people = self._send_notices(notices, now)
        return {
            "at": now.isoformat(),
            "notified": len(notices),
            "people_notified": people,
            "released": released,
            "cancelled": cancelled,
        }

    def _apply(self, due_ids, now, kind, values) -> int:
        """Record ``kind`` for every due registration, then change them: two statements."""
        self.dbsession.flush()
        self.dbsession.execute(
            insert(RegistrationEvent).from_select(
                ["registration_id", "kind", "at", "detail"],
                select(due_ids.c.id, literal(kind), literal(now, UTCDateTime()),
                       literal({}, RegistrationEvent.__table__.c.detail.type)),
            )
        )
        registration_changed(self.dbsession, kind, now, select(due_ids.c.id))
        result = self.dbsession.execute(
            update(Registration)
            .where(Registration.id.in_(select(due_ids.c.id)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.dbsession.expire_all()
        return result.rowcount

    def _notice_rows(self, now) -> list:
        due = _notice_due(now)
        return list(
            self.dbsession.execute(
                select(Account.id, Account.email, Account.display_name, Account.locale,
                       Site.name)
                .select_from(Registration)
                .join(Account, Account.id == Registration.account_id)
                .join(Site, Site.id == Registration.site_id)
                .where(Registration.id.in_(select(due.c.id)))
                .order_by(Account.id, Site.code)
            )
        )

    def _send_notices(self, rows, now) -> int:
        """One mail per person listing every site that will be released."""
        people = {}
        for account_id, email, name, locale, site_name in rows:
            people.setdefault(account_id, (email, name, locale, []))[3].append(site_name)
        release_on = to_tokyo(now + timedelta(days=NOTICE_DAYS)).date()
        for email, name, locale, sites in people.values():
            queue_mail(self.dbsession, self.settings,
                       self._notice_mail(email, name, locale, sites, release_on))
        return len(people)

    def _notice_mail(self, email, name, locale, sites, release_on) -> Mail:
        translate = localizer_for(self.settings, locale).translate
        mapping = {
            "name": name,
            "date": format_day(release_on, locale),
            "signin": self.settings.base_url + "/signin",
        }
        lines = [
            translate(_("Dear ${name},", mapping=mapping)),
            "",
            translate(_("You have not signed in to the Furusato resident registration for a "
                        "long time. Your basic registration with the following sites will "
                        "be released on ${date}:", mapping=mapping)),
            "",
            *(f"- {site}" for site in sites),
            "",
            translate(_("To keep your registration, simply sign in before that day:",
                        mapping=mapping)),
            mapping["signin"],
            "",
            translate(_("A released registration is not deleted; you can register again "
                        "at any time.")),
        ]
        return Mail(
            to=email,
            subject=translate(_("Your Furusato resident registration will be released on "
                                "${date}", mapping=mapping)),
            text="\n".join(lines) + "\n",
        )


# -- the release rule as SQL ----------------------------------------------------------


class days_before(FunctionElement):
    """``days_before(moment, days)``: a time minus a number of days given as an SQL
    expression (a column), comparable with stored times on each database."""

    type = UTCDateTime()
    inherit_cache = True
    name = "days_before"


def _days_before_args(element, compiler, **kw):
    moment, days = element.clauses
    return compiler.process(moment, **kw), compiler.process(days, **kw)


@compiles(days_before, "postgresql")
def _days_before_pg(element, compiler, **kw):
    return "(%s - make_interval(days => %s))" % _days_before_args(element, compiler, **kw)


@compiles(days_before, "sqlite")
def _days_before_sqlite(element, compiler, **kw):
    """SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime's %f gives milliseconds,
    so three zeros keep the same shape for string comparison."""
    return "(strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || (%s) || ' days') || '000')" % (
        _days_before_args(element, compiler, **kw)
    )


def _basic_active():
    return select(Registration.id).join(Account, Account.id == Registration.account_id).where(
        Registration.state == "active", Registration.tier == "basic"
    )


def effective_inactivity_days():
    """The period that applies to a site, as SQL: the longer of the national period and
    the site's own (so raising the national period lengthens every site below it)."""
    national = inactivity_days_sql()
    return case((Site.inactivity_days > national, Site.inactivity_days), else_=national)


def _last_seen():
    return func.coalesce(Account.last_signin_at, Account.created_at)


def _notice_threshold(now):
    return days_before(literal(now, UTCDateTime()), effective_inactivity_days() - NOTICE_DAYS)


def _notice_due(now):
    """Not signed in (or, never signed in, created) for the period minus 30 days."""
    return (
        _basic_active()
        .join(Site, Site.id == Registration.site_id)
        .where(Registration.release_notice_at.is_(None), _last_seen() <= _notice_threshold(now))
        .subquery()
    )


def _release_due(now):
    """Noticed at least 30 days ago and not signed in since the notice."""
    return (
        _basic_active()
        .where(
            Registration.release_notice_at <= now - timedelta(days=NOTICE_DAYS),
            or_(Account.last_signin_at.is_(None),
                Account.last_signin_at <= Registration.release_notice_at),
        )
        .subquery()
    )


def _cancel_due(now):
    """Signing in after the notice cancels it (in time, since released ones are past); so
    does a period lengthened since the notice, under which no notice is due yet."""
    return (
        _basic_active()
        .join(Site, Site.id == Registration.site_id)
        .where(
            Registration.release_notice_at.is_not(None),
            or_(Account.last_signin_at > Registration.release_notice_at,
                _last_seen() > _notice_threshold(now)),
        )
        .subquery()
    )
