"""Test data for attendance: registrants registered with a site, partner staff,
applications, and a ready check-in world (a site, a public project, a session now)."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from furusato_cms.models import (
    ActivitySession,
    Project,
    Registration,
    SessionApplication,
    Site,
    StaffMembership,
)

from .activity_factories import make_project, make_session
from .factories import NAGANO_CITY, T0, make_account, make_site
from .registrant_factories import make_registrant


def make_registered(dbsession, site, email="person@example.jp", *, name="住民 太郎",
                    state="active"):
    """A registrant with a registration at ``site`` (active unless ``state`` says)."""
    account = make_registrant(dbsession, email, name=name)
    dbsession.add(Registration(account_id=account.id, site_id=site.id, state=state,
                               registered_at=T0, state_changed_at=T0))
    dbsession.flush()
    return account


def make_partner_staff(dbsession, site, partner, email):
    """A partner organisation's staff account (role "partner", tied to ``partner``)."""
    account = make_account(dbsession, email)
    dbsession.add(StaffMembership(site_id=site.id, account_id=account.id, role="partner",
                                  partner_id=partner.id, created_at=T0))
    dbsession.flush()
    return account


def make_application(dbsession, session, account, state="applied"):
    application = SessionApplication(session_id=session.id, account_id=account.id, state=state,
                                     applied_at=T0, updated_at=T0)
    dbsession.add(application)
    dbsession.flush()
    return application


@dataclass
class CheckinWorld:
    site: Site
    project: Project
    session: ActivitySession


def make_checkin_world(dbsession, starts_at: datetime, *, code=NAGANO_CITY, partner=None,
                       title="りんご収穫の手伝い", **session_kw) -> CheckinWorld:
    """An active site with a published project and a three-hour session from ``starts_at``
    (check-in window: one hour before to two hours after, the defaults)."""
    site = dbsession.query(Site).filter_by(code=code).one_or_none() or make_site(dbsession, code)
    project = make_project(dbsession, site, title, partner=partner)
    session = make_session(dbsession, project, starts_at, **session_kw)
    return CheckinWorld(site, project, session)


HOUR = timedelta(hours=1)
